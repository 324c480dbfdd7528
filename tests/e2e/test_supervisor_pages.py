"""The supervisor's pages over real HTTP, on SQLite and PostgreSQL: team load and presence (with
capacity and team routing changed from the page), the SLA risk board, the playbook editor (errors
by line beside the text, save, activate, roll back, backtest), channels with their health and
quarantine (replayed by admins), users and teams (created by admins). Agents are refused every
page and every form; a form without this session's CSRF token changes nothing."""

from __future__ import annotations

import html
import re
from datetime import datetime

import httpx2
import pytest
from sqlalchemy import select

from socialdesk.adapters.connectors.x.fake import FakeX
from socialdesk.adapters.connectors.x.inbound import signature
from socialdesk.adapters.db import tables as t
from socialdesk.domain.agents import Agent, Role
from socialdesk.domain.connectors import WebhookRequest
from socialdesk.services import conversations as actions
from socialdesk.services import webhooks
from socialdesk.services.agents import create_agent, create_team
from socialdesk.services.channels import create_channel
from socialdesk.services.intake import ingest
from socialdesk.worker import JOBS
from tests import factories as f
from tests.e2e.conftest import PASSWORD, Web

PAGES = (
    "/supervisor",
    "/supervisor/sla",
    "/supervisor/playbook",
    "/supervisor/channels",
    "/supervisor/users",
)
SCRIPT = "<script>alert(1)</script>"
SECRET = "x-consumer-secret"
GOOD = """version: 1
rules:
  - name: billing
    when: {keywords: [bill, invoice]}
    then: [{route: Billing}, {tag: billing}]
"""
NARROWER = GOOD.replace("[bill, invoice]", "[invoice]")
BAD = """version: 1
rules:
  - name: spam
    when: {spam_p: {gte: 80}}
    then: [{suppress: spam}]
  - name: angry
    when: {sentimnet: negative}
    then: [{tag: angry}]
"""


# -- helpers ----------------------------------------------------------------------------------


def now(web: Web) -> datetime:
    return web.desk.clock.now()


def advance(web: Web, **delta: float) -> None:
    web.desk.clock.advance(**delta)  # type: ignore[attr-defined]


def post(
    web: Web, external_id: str, text: str = "my order never arrived", author: str = "cust-1"
) -> int:
    """A customer post on the X channel, now; returns its conversation's id."""
    result = ingest(
        web.desk.uow,
        [f.inbound(web.channel_id, external_id, text, author=author, at=now(web))],
        now=now(web),
        policy=web.desk.policy,
        source="test",
    )
    return result.outcomes[0].conversation_id


def agent(web: Web, username: str) -> Agent:
    with web.desk.uow(read_only=True) as unit:
        found = unit.agents.find(username)
    assert found is not None
    return found


def team(web: Web, name: str) -> int:
    created = create_team(web.desk.uow(), name, now(web), None)
    assert created.id is not None
    return created.id


def member(web: Web, username: str, display_name: str, *teams: str) -> int:
    created = create_agent(
        web.desk.uow(),
        web.desk.hasher,
        username=username,
        role=Role.AGENT,
        password=PASSWORD,
        display_name=display_name,
        email=None,
        team_names=list(teams),
        now=now(web),
        actor_id=None,
    )
    assert created.id is not None
    return created.id


def assign(web: Web, conversation_id: int, team_id: int | None, agent_id: int | None) -> None:
    actions.assign(
        web.desk.uow(),
        agent(web, "supervisor"),
        conversation_id,
        actions.Assignment(assignee_id=agent_id, team_id=team_id),
        now(web),
    )


def sweep(web: Web) -> None:
    JOBS["sla"](web.desk)


def row(page: str, element_id: str) -> str:
    """The text of the table row with this id, tags stripped, white space folded."""
    found = re.search(rf'<tr id="{element_id}"[^>]*>(.*?)</tr>', page, re.S)
    assert found is not None, f"no row {element_id}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def risk_row(page: str, conversation_id: int) -> str:
    found = re.search(rf'<tr data-id="{conversation_id}">(.*?)</tr>', page, re.S)
    assert found is not None, f"conversation {conversation_id} is not on the board"
    return text_of(found.group(1))


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def ok(response: httpx2.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def redirected(response: httpx2.Response, to: str) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"] == to


def every_form(web: Web, team_id: int) -> dict[str, dict[str, str]]:
    """Each form of the supervisor pages, filled in so it would change something."""
    return {
        f"/supervisor/agents/{agent(web, 'agent').id}/capacity": {"capacity": "x=1"},
        f"/supervisor/teams/{team_id}/routing": {"assignment_mode": "manual"},
        "/supervisor/playbook": {
            "source": GOOD.replace("route: Billing", "route: Care"),
            "comment": "c",
        },
        "/supervisor/playbook/check": {"source": GOOD},
        "/supervisor/playbook/backtest": {"source": GOOD},
        "/supervisor/playbook/1/activate": {},
        "/supervisor/playbook/rollback": {},
        "/supervisor/quarantine/1/replay": {},
        "/supervisor/users": {"username": "eve", "role": "admin", "password": "x" * 12},
        "/supervisor/teams": {"name": "Mine"},
    }


@pytest.fixture
def supervisor(web: Web) -> httpx2.Client:
    return web.sign_in("supervisor")


@pytest.fixture
def admin(web: Web) -> httpx2.Client:
    return web.sign_in("admin")


# -- who may see and do what ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_every_page_renders_for_supervisors_and_admins(web: Web, role: str) -> None:
    client = web.sign_in(role)
    for path in PAGES:
        page = ok(client.get(path))
        assert '<meta name="csrf-token"' in page
        assert "style=" not in page  # the Content-Security-Policy allows no inline style
        assert re.search(r"<script(?![^>]*\bsrc=)", page) is None, path


def test_an_agent_is_refused_every_page_and_every_form(web: Web) -> None:
    care = team(web, "Care")
    client = web.sign_in("agent")
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 403, path
        assert "for supervisors and admins" in r.text
    forms = every_form(web, care)
    before = web.snapshot()
    for path, data in forms.items():
        r = web.post_form(client, path, data)
        assert r.status_code == 403, path
    assert web.snapshot() == before


def test_a_form_without_this_sessions_csrf_token_changes_nothing(
    web: Web, supervisor: httpx2.Client, admin: httpx2.Client
) -> None:
    care = team(web, "Care")
    forms = every_form(web, care)
    before = web.snapshot()
    for path, data in forms.items():
        missing = admin.post(path, data=data)
        assert missing.status_code == 403, path
        assert "did not come from this desk" in missing.text
        wrong = admin.post(path, data={**data, "csrf_token": web.csrf(supervisor)})
        assert wrong.status_code == 403, path
    assert web.snapshot() == before
    # With this session's token the same form goes through.
    redirected(
        web.post_form(admin, "/supervisor/teams", {"name": "Mine"}), "/supervisor/users?done=team"
    )


def test_signed_out_the_pages_ask_to_sign_in(web: Web) -> None:
    client = web.client()
    r = client.get("/supervisor/sla")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fsupervisor%2Fsla"


# -- team load and presence -------------------------------------------------------------------


def test_team_load_shows_presence_load_against_capacity_and_queues(
    web: Web, supervisor: httpx2.Client
) -> None:
    care = team(web, "Care")
    dana = member(web, "dana", SCRIPT, "Care")
    web.sign_in("dana")  # signing in sets her online
    first, second = post(web, "t1", author="ann"), post(web, "t2", author="ben")
    assign(web, first, care, dana)
    assign(web, second, care, None)
    post(web, "t3", author="cat")  # no team
    advance(web, minutes=5)
    page = ok(supervisor.get("/supervisor"))
    assert SCRIPT not in page
    assert html.escape(SCRIPT) in page
    dana_row = row(page, f"agent-{dana}")
    assert "online" in dana_row
    assert "since 02 Mar 09:00 UTC" in dana_row
    assert "X 1/10" in dana_row
    assert "Care" in dana_row
    assert "09:00 UTC" in dana_row  # last assigned
    care_row = row(page, f"team-{care}")
    assert "round_robin" in care_row
    # open, unassigned, nobody at risk yet
    assert re.search(r"\b2 1 0\b", care_row), care_row
    assert "1 open with no team (1 unassigned" in text_of(page)
    assert "2 online" in text_of(page)  # the supervisor and Dana


def test_capacity_is_changed_from_the_page_and_a_bad_one_is_shown_again(
    web: Web, supervisor: httpx2.Client
) -> None:
    dana = member(web, "dana", "Dana")
    r = web.post_form(supervisor, f"/supervisor/agents/{dana}/capacity", {"capacity": "x=2, *=1"})
    redirected(r, "/supervisor?done=capacity")
    assert agent(web, "dana").capacity == {"x": 2, "*": 1}
    page = ok(supervisor.get("/supervisor?done=capacity"))
    assert "Capacity saved" in page
    assert 'value="x=2, *=1"' in page
    before = web.snapshot()
    bad = web.post_form(supervisor, f"/supervisor/agents/{dana}/capacity", {"capacity": "x=lots"})
    assert bad.status_code == 422
    assert "&#39;x=lots&#39; is not &#39;platform=number&#39;" in bad.text
    assert 'value="x=lots"' in bad.text  # what was typed is kept
    assert web.snapshot() == before
    missing = web.post_form(supervisor, "/supervisor/agents/9999/capacity", {"capacity": "x=1"})
    assert missing.status_code == 404


def test_team_routing_is_changed_from_the_page(web: Web, supervisor: httpx2.Client) -> None:
    care = team(web, "Care")
    r = web.post_form(
        supervisor,
        f"/supervisor/teams/{care}/routing",
        {
            "assignment_mode": "least_loaded",
            "calendar": "",
            "sla_policy": "",
            "languages": "en, pt_BR",
            "platforms": "x",
            "intents": "",
        },
    )
    redirected(r, "/supervisor?done=team")
    with web.desk.uow(read_only=True) as unit:
        saved = unit.teams.get(care)
    assert saved is not None
    assert saved.assignment_mode == "least_loaded"
    assert saved.skills == {"languages": ["en", "pt-br"], "platforms": ["x"], "intents": []}
    before = web.snapshot()
    bad = web.post_form(
        supervisor,
        f"/supervisor/teams/{care}/routing",
        {"assignment_mode": "least_loaded", "platforms": "X!", "languages": "de"},
    )
    assert bad.status_code == 422
    assert "is not a platform name" in bad.text
    assert 'value="X!"' in bad.text
    assert 'value="de"' in bad.text
    assert web.snapshot() == before


# -- the SLA risk board -----------------------------------------------------------------------


def test_the_sla_board_lists_conversations_at_risk_soonest_due_first(
    web: Web, supervisor: httpx2.Client
) -> None:
    care = team(web, "Care")
    dana = member(web, "dana", "Dana", "Care")
    late = post(web, "t1", author="ann")  # due 10:00 (the desk's hour)
    assign(web, late, care, dana)
    advance(web, minutes=50)
    soon = post(web, "t2", author="ben")  # due 10:50
    advance(web, minutes=50)  # 10:40: the first is late, the second due in 10 minutes
    fresh = post(web, "t3", author="cat")
    sweep(web)
    page = ok(supervisor.get("/supervisor/sla"))
    ids = [int(i) for i in re.findall(r'<tr data-id="(\d+)"', page)]
    assert ids == [late, soon]
    assert fresh not in ids
    assert 'data-due="2026-03-02T10:00:00+00:00"' in page
    assert 'data-due="2026-03-02T10:50:00+00:00"' in page
    # due, state and clock, customer, platform and channel, team, assignee, priority, waiting
    assert risk_row(page, late) == (
        "02 Mar 10:00 UTC breached · first response @ann my order never arrived X @brand Care "
        "Dana 0 02 Mar 09:00 UTC"
    )
    assert risk_row(page, soon) == (
        "02 Mar 10:50 UTC warning · first response @ben my order never arrived X @brand no team "
        "unassigned 0 02 Mar 09:50 UTC"
    )
    assert "1 breached" in text_of(page)
    assert "1 warning" in text_of(page)
    per_team = text_of(page.split('id="per-team"')[1].split("</table>")[0])
    assert "Care 1 0 1 0" in per_team
    assert "no team 0 1 2 2" in per_team
    only_care = ok(supervisor.get(f"/supervisor/sla?team={care}"))
    assert re.findall(r'<tr data-id="(\d+)"', only_care) == [str(late)]
    warning = ok(supervisor.get("/supervisor/sla?state=warning"))
    assert re.findall(r'<tr data-id="(\d+)"', warning) == [str(soon)]
    assert supervisor.get("/supervisor/sla?state=bad").status_code == 422


# -- the playbook editor ----------------------------------------------------------------------


def test_an_invalid_playbook_shows_every_problem_by_line_and_keeps_the_text(
    web: Web, supervisor: httpx2.Client
) -> None:
    before = web.snapshot()
    r = web.post_form(supervisor, "/supervisor/playbook", {"source": BAD, "comment": "angry"})
    assert r.status_code == 422
    problems = text_of(r.text.split('id="problems"')[1].split("</aside>")[0])
    assert "line 4 · rule “spam”" in problems
    assert "4 │ when: {spam_p: {gte: 80}}" in problems
    assert "line 7 · rule “angry”: unknown condition 'sentimnet'" in problems
    assert "7 │ when: {sentimnet: negative}" in problems
    assert "The playbook has 2 problems; nothing was saved." in r.text
    assert html.escape(BAD, quote=False) in r.text  # the text as typed, in the editor
    assert 'value="angry"' in r.text  # and the comment
    assert web.snapshot() == before
    checked = web.post_form(supervisor, "/supervisor/playbook/check", {"source": BAD})
    assert checked.status_code == 422
    assert "sentimnet" in checked.text
    # A team the rules name must exist here.
    legal = GOOD.replace("route: Billing", "route: Legal")
    r = web.post_form(supervisor, "/supervisor/playbook", {"source": legal, "comment": "legal"})
    assert r.status_code == 422
    problems = text_of(r.text.split('id="problems"')[1].split("</aside>")[0])
    assert "line 3 · rule “billing”: team 'Legal' does not exist" in problems
    assert web.snapshot() == before


def test_a_playbook_is_checked_saved_activated_and_rolled_back(
    web: Web, supervisor: httpx2.Client
) -> None:
    team(web, "Billing")
    checked = web.post_form(supervisor, "/supervisor/playbook/check", {"source": GOOD})
    assert "Valid: 1 rule." in text_of(ok(checked))
    assert web.snapshot()["playbook_versions"] == []
    r = web.post_form(
        supervisor,
        "/supervisor/playbook",
        {"source": GOOD.replace("\n", "\r\n"), "comment": "first rules", "activate": "yes"},
    )
    redirected(r, "/supervisor/playbook?version=1&done=live")
    r = web.post_form(
        supervisor, "/supervisor/playbook", {"source": NARROWER, "comment": "invoices only"}
    )
    redirected(r, "/supervisor/playbook?version=2&done=saved")
    with web.desk.uow(read_only=True) as unit:
        live = unit.playbooks.live()
        second = unit.playbooks.get(2)
    assert live is not None
    assert live.version == 1
    assert live.source == GOOD  # the browser's line ends are not kept
    assert second is not None
    assert not second.live
    page = ok(supervisor.get("/supervisor/playbook?version=2&done=saved"))
    assert "Version saved (not live)" in page
    assert "Live: version 1 · first rules" in text_of(page)
    assert "-    when: {keywords: [bill, invoice]}" in page
    assert 'action="/supervisor/playbook/2/activate" data-confirm=' in page
    assert 'action="/supervisor/playbook/rollback" data-confirm=' in page
    r = web.post_form(supervisor, "/supervisor/playbook/2/activate")
    redirected(r, "/supervisor/playbook?version=2&done=activated")
    assert "Live: version 2" in text_of(ok(supervisor.get("/supervisor/playbook")))
    r = web.post_form(supervisor, "/supervisor/playbook/rollback")
    redirected(r, "/supervisor/playbook?version=1&done=rolled_back")
    with web.desk.uow(read_only=True) as unit:
        back = unit.playbooks.live()
    assert back is not None
    assert back.version == 1
    missing = web.post_form(supervisor, "/supervisor/playbook/9/activate")
    assert missing.status_code == 404
    assert "playbook version 9 does not exist" in missing.text


def test_a_backtest_shows_its_tables(web: Web, supervisor: httpx2.Client) -> None:
    team(web, "Billing")
    post(web, "t1", "my bill is wrong", author="ann")
    post(web, "t2", "my invoice is missing", author="ben")
    post(web, "t3", "where is my parcel", author="cat")
    r = web.post_form(
        supervisor, "/supervisor/playbook", {"source": GOOD, "comment": "first", "activate": "yes"}
    )
    assert r.status_code == 303
    before = web.snapshot()
    r = web.post_form(
        supervisor, "/supervisor/playbook/backtest", {"source": NARROWER, "since": "30"}
    )
    page = ok(r)
    section = page.split('id="backtest"')[1].split("</section>")[0]
    assert "<table" in section
    text = text_of(section)
    assert "The text in the editor replayed on 3 stored messages (the last 30 days)" in text
    assert "against live version 1" in text
    assert "messages a rule matched 1 2 -1" in text
    assert "billing 1 2 -1" in text
    assert "Billing no team 1" in text
    assert html.escape(NARROWER, quote=False) in page  # the editor keeps the candidate
    by_version = web.post_form(supervisor, "/supervisor/playbook/backtest", {"version": "1"})
    assert "Version 1 replayed on 3 stored messages" in text_of(ok(by_version))
    assert web.snapshot() == before


def test_the_editor_escapes_what_it_shows(web: Web, supervisor: httpx2.Client) -> None:
    hostile = f"</textarea>{SCRIPT}\nversion: 1\n"
    r = web.post_form(supervisor, "/supervisor/playbook/check", {"source": hostile})
    assert r.status_code == 422
    assert SCRIPT not in r.text
    assert "&lt;/textarea&gt;&lt;script&gt;" in r.text


# -- channels and quarantine ------------------------------------------------------------------


def x_channel(web: Web, name: str) -> int:
    created = create_channel(
        web.desk.uow(),
        web.desk.secrets,
        None,
        "x",
        name,
        {"user_id": FakeX().user_id, "consumer_secret": SECRET, "access_token": "token"},
        now(web),
    )
    assert created.id is not None
    return created.id


def test_channels_show_their_health_and_admins_replay_quarantine(
    web: Web, supervisor: httpx2.Client, admin: httpx2.Client
) -> None:
    channel = x_channel(web, f"@acme{SCRIPT}")
    post(web, "t1")  # traffic on the fixture's channel
    body = b'{"for_user_id": "1", "tweet_create_events": ['
    headers = {"x-twitter-webhooks-signature": signature(SECRET, body)}
    refused = supervisor.post(f"/webhooks/x/{channel}", content=body, headers=headers)
    assert refused.status_code == 400
    # A delivery the connector could not read then (a bug since fixed): replay takes it in.
    fake = FakeX()
    fake.add_user("2200000000000000001", "danaq")
    payload = fake.signed(fake.activity_tweet("2200000000000000001", "@acme hello"), SECRET)[0]
    fixable = webhooks.quarantine(
        web.desk.uow,
        "x",
        channel,
        WebhookRequest("POST", {}, {"content-type": "application/json"}, payload),
        "an old bug",
        now(web),
    )

    page = ok(supervisor.get("/supervisor/channels"))
    assert SCRIPT not in page
    assert html.escape(SCRIPT) in page
    assert "2 deliveries in quarantine" in row(page, f"channel-{channel}")
    assert "receiving" in row(page, f"channel-{web.channel_id}")
    assert "09:00 UTC" in row(page, f"channel-{web.channel_id}")
    assert "the body is not JSON" in page
    assert "/replay" not in page  # supervisors see the list, admins replay
    assert '"for_user_id"' not in page  # and only admins read bodies

    page = ok(admin.get("/supervisor/channels"))
    assert page.count('data-confirm="Read delivery') == 2
    assert "&#34;for_user_id&#34;: &#34;1&#34;" in page or "&quot;for_user_id&quot;" in page
    refused_replay = web.post_form(supervisor, f"/supervisor/quarantine/{fixable.id}/replay")
    assert refused_replay.status_code == 403
    r = web.post_form(admin, f"/supervisor/quarantine/{fixable.id}/replay")
    redirected(r, "/supervisor/channels?done=replayed")
    with web.desk.engine.connect() as conn:
        texts = list(
            conn.execute(select(t.messages.c.text).where(t.messages.c.channel_id == channel))
        )
    assert [m.text for m in texts] == ["@acme hello"]
    page = ok(admin.get("/supervisor/channels?done=replayed"))
    assert "taken in" in row(page, f"quarantined-{fixable.id}")
    assert "1 delivery in quarantine" in row(page, f"channel-{channel}")
    again = web.post_form(admin, f"/supervisor/quarantine/{fixable.id}/replay")
    assert again.status_code == 422
    assert "was replayed already" in again.text
    only = ok(admin.get(f"/supervisor/channels?channel={web.channel_id}"))
    assert "Nothing in quarantine." in only


# -- users and teams --------------------------------------------------------------------------


def test_admins_create_users_and_teams(web: Web, admin: httpx2.Client) -> None:
    r = web.post_form(admin, "/supervisor/teams", {"name": "Care"})
    redirected(r, "/supervisor/users?done=team")
    r = web.post_form(
        admin,
        "/supervisor/users",
        {
            "username": "dana",
            "display_name": SCRIPT,
            "email": "dana@example.com",
            "role": "supervisor",
            "password": "a long enough password",
            "teams": "Care",
        },
    )
    redirected(r, "/supervisor/users?done=user")
    dana = agent(web, "dana")
    assert (dana.role, dana.display_name, len(dana.team_ids)) == (Role.SUPERVISOR, SCRIPT, 1)
    page = ok(admin.get("/supervisor/users?done=user"))
    assert SCRIPT not in page
    assert html.escape(SCRIPT) in page
    assert "User created." in page
    assert "supervisor Care dana@example.com" in row(page, f"user-{dana.id}")
    assert web.sign_in("dana", "a long enough password").get("/supervisor").status_code == 200
    before = web.snapshot()
    bad = web.post_form(
        admin,
        "/supervisor/users",
        {"username": "ed", "display_name": "Ed", "role": "agent", "password": "short"},
    )
    assert bad.status_code == 422
    assert "at least 10 characters" in bad.text
    assert 'value="ed"' in bad.text
    assert 'value="Ed"' in bad.text
    assert "short" not in bad.text  # a password is never shown again
    taken = web.post_form(admin, "/supervisor/teams", {"name": "Care"})
    assert taken.status_code == 409
    assert "exists already" in taken.text
    assert web.snapshot() == before


def test_supervisors_see_users_but_may_not_create_them(web: Web, supervisor: httpx2.Client) -> None:
    page = ok(supervisor.get("/supervisor/users"))
    assert "The admin" in page
    assert "The agent" in page
    assert 'action="/supervisor/users"' not in page
    before = web.snapshot()
    r = web.post_form(
        supervisor,
        "/supervisor/users",
        {"username": "eve", "role": "admin", "password": "a long enough password"},
    )
    assert r.status_code == 403
    assert "only admins may do this" in r.text
    assert web.post_form(supervisor, "/supervisor/teams", {"name": "X"}).status_code == 403
    assert web.snapshot() == before
