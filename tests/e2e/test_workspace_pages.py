"""The workspace's pages and forms over real HTTP (no browser): sign-in and its defences, the
inbox's views and filters, every action on a conversation, and what refused requests leave
behind (nothing), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re

import httpx2
import pytest
from sqlalchemy import select

from socialdesk.adapters.db import tables as t
from socialdesk.services.agents import create_team
from socialdesk.services.templates import create_template
from tests import factories as f
from tests.e2e.conftest import PASSWORD, Web
from tests.fakes import FrozenClock


def post(web: Web, external_id: str, text: str = "my order never arrived", **kw: object) -> int:
    return f.conversation(web.desk, web.channel_id, external_id, text, **kw)


def rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="row" href="/conversations/(\d+)"', html)]


# -- signing in -------------------------------------------------------------------------------


def test_pages_send_a_stranger_to_the_sign_in_form_and_back_after(web: Web) -> None:
    client = web.client()
    r = client.get("/conversations/1?done=noted")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fconversations%2F1%3Fdone%3Dnoted"
    assert 'value="/conversations/1?done=noted"' in client.get(r.headers["location"]).text
    signed = web.log_in(client, "agent", target="/conversations/1?done=noted")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/conversations/1?done=noted"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie


def test_htmx_requests_without_a_session_are_told_to_sign_in(web: Web) -> None:
    r = web.client().get("/ui/inbox/rows", headers={"HX-Request": "true"})
    assert r.status_code == 401
    assert r.headers["hx-redirect"] == "/login"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_sign_in_never_sends_the_browser_to_another_site(web: Web, target: str) -> None:
    r = web.log_in(web.client(), "agent", target=target)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_a_sign_in_without_the_forms_token_is_refused(web: Web) -> None:
    client = web.client()
    client.get("/login")
    r = client.post(
        "/login", data={"username": "agent", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert r.status_code == 403
    assert "sd_session" not in r.headers.get("set-cookie", "")


def test_wrong_passwords_get_one_message_and_five_lock_the_username_out(web: Web) -> None:
    client = web.client()

    def attempt(username: str, password: str) -> httpx2.Response:
        return web.log_in(client, username, password)

    unknown = attempt("nobody", "whatever")
    wrong = attempt("agent", "whatever")
    assert unknown.status_code == wrong.status_code == 401
    message = "The username or the password is wrong."
    assert message in unknown.text
    assert message in wrong.text
    for _ in range(4):
        assert attempt("agent", "still wrong").status_code == 401
    locked = attempt("agent", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    assert attempt("supervisor", PASSWORD).status_code == 303  # others are not locked out


def test_a_deactivated_user_is_signed_out_at_once(web: Web) -> None:
    client = web.sign_in("agent")
    assert client.get("/").status_code == 200
    with web.desk.engine.begin() as conn:
        conn.execute(t.agents.update().where(t.agents.c.username == "agent").values(active=False))
    assert client.get("/").status_code == 303


def test_signing_out_needs_the_token_and_ends_every_session_even_copied_cookies(
    web: Web,
) -> None:
    client = web.sign_in("agent")
    laptop = web.sign_in("agent")
    copied = web.client()
    copied.cookies.set("sd_session", client.cookies["sd_session"])
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/").status_code == 200
    r = web.post_form(client, "/logout")
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    assert client.get("/").status_code == 303
    assert copied.get("/").status_code == 303
    assert laptop.get("/").status_code == 303
    assert web.sign_in("agent").get("/").status_code == 200


def test_a_session_cookie_that_was_tampered_with_is_ignored(web: Web) -> None:
    client = web.sign_in("agent")
    payload, stamp, signature = client.cookies["sd_session"].split(".")
    forged = base64.urlsafe_b64encode(b'{"a":3,"c":"x"}').decode().rstrip("=")
    assert payload != forged
    intruder = web.client()
    intruder.cookies.set("sd_session", f"{forged}.{stamp}.{signature}")
    assert intruder.get("/").status_code == 303
    intruder.cookies.set("sd_session", f"{payload}.{stamp}.{signature}")
    assert intruder.get("/").status_code == 200


# -- every response -------------------------------------------------------------------------


def test_pages_carry_a_strict_content_security_policy(web: Web) -> None:
    client = web.sign_in("agent")
    r = client.get("/")
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert " on" not in r.text.lower().replace(" one", "")  # no inline event handler attributes
    assert "<script>" not in r.text
    assert "style=" not in r.text


def test_static_files_are_served_from_the_package(web: Web) -> None:
    client = web.client()
    for path in ("/static/app.css", "/static/app.js", "/static/vendor/htmx.min.js"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert len(r.content) > 500


# -- the inbox ----------------------------------------------------------------------------------


def test_the_inbox_shows_each_conversation_with_what_decides_what_to_open(web: Web) -> None:
    first = post(web, "t1", "where is my refund <b>now</b>", followers=12_345)
    client = web.sign_in("agent")
    html = client.get("/").text
    assert rows(html) == [first]
    assert "@cust-1" in html
    assert "12.3k" in html
    assert "where is my refund &lt;b&gt;now&lt;/b&gt;" in html
    assert 'data-due="' in html  # the SLA timer
    assert "unassigned" in html


def test_views_and_filters_pick_the_conversations(web: Web) -> None:
    desk = web.desk
    mine = post(web, "t1", "one", author="a")
    other = post(web, "t2", "two", author="b")
    refunds = post(web, "t3", "three refund please", author="c")
    client = web.sign_in("agent")
    csrf = web.csrf(client)
    client.post(f"/conversations/{mine}/assign", data={"csrf_token": csrf, "assignee": "me"})
    client.post(f"/conversations/{refunds}/tags", data={"csrf_token": csrf, "add": "refund"})
    assert rows(client.get("/?view=mine").text) == [mine]
    assert set(rows(client.get("/?view=unassigned").text)) == {other, refunds}
    assert rows(client.get("/?tag=refund").text) == [refunds]
    assert rows(client.get("/?q=refund").text) == [refunds]
    assert rows(client.get("/ui/inbox/rows?view=mine").text) == [mine]
    assert rows(client.get("/?status=closed").text) == []
    with desk.engine.begin() as conn:
        conn.execute(
            t.conversations.update()
            .where(t.conversations.c.id == other)
            .values(sla_state="breached")
        )
    assert rows(client.get("/?view=at_risk").text) == [other]
    counts = client.get("/ui/inbox/counts").text
    assert re.search(r"Mine <span class=\"count\">1</span>", counts)
    assert re.search(r"Unassigned <span class=\"count\">2</span>", counts)
    assert re.search(r"SLA at risk <span class=\"count\">1</span>", counts)


def test_my_teams_view_shows_my_teams_queue(web: Web) -> None:
    desk = web.desk
    team = create_team(desk.uow(), "Billing", desk.clock.now(), None)
    assert team.id is not None
    with desk.uow() as unit:
        agent = unit.agents.find("agent")
        assert agent is not None
        agent.team_ids = [team.id]
        unit.agents.update(agent)
        unit.commit()
    billed = post(web, "t1", "bill is wrong", author="a")
    post(web, "t2", "other", author="b")
    client = web.sign_in("agent")
    web.post_form(client, f"/conversations/{billed}/assign", {"team": str(team.id)})
    assert rows(client.get("/?view=teams").text) == [billed]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("view=everything", "view must be one of"),
        ("sentiment=furious", "sentiment must be negative, neutral or positive"),
        ("sort=loudest", "sort must be one of"),
        ("status=gone", "status must be"),
        ("platform=No%20Such", "platform is not a platform name"),
    ],
)
def test_a_bad_filter_says_what_is_wrong_and_shows_the_open_queue(
    web: Web, query: str, message: str
) -> None:
    post(web, "t1")
    client = web.sign_in("agent")
    r = client.get(f"/?{query}")
    assert r.status_code == 422
    assert message in r.text
    assert len(rows(r.text)) == 1
    assert client.get(f"/ui/inbox/rows?{query}").status_code == 422


def test_a_saved_view_is_a_named_filter_of_ones_own(web: Web) -> None:
    post(web, "t1", "refund please")
    client = web.sign_in("agent")
    r = web.post_form(client, "/ui/views", {"name": "Refunds", "query": "q=refund&sort=age"})
    assert r.status_code == 303
    assert r.headers["location"] == "/?q=refund&sort=age"
    assert 'href="/?q=refund&amp;sort=age">Refunds</a>' in client.get("/ui/inbox/counts").text
    other = web.sign_in("supervisor")
    assert "Refunds" not in other.get("/ui/inbox/counts").text
    assert web.post_form(client, "/ui/views", {"name": "", "query": "q=x"}).status_code == 422
    assert web.post_form(client, "/ui/views/delete", {"name": "Refunds"}).status_code == 303
    assert "Refunds" not in client.get("/ui/inbox/counts").text


# -- a conversation ---------------------------------------------------------------------------


def test_the_conversation_page_shows_thread_customer_history_and_sla(web: Web) -> None:
    earlier = post(web, "t0", "first time", author="dana")
    with web.desk.engine.begin() as conn:
        conn.execute(
            t.conversations.update().where(t.conversations.c.id == earlier).values(status="closed")
        )
    current = post(web, "t1", "again https://example.com/x?a=1 javascript:alert(1)", author="dana")
    client = web.sign_in("agent")
    html = client.get(f"/conversations/{current}").text
    assert 'class="vis public"' in html
    assert (
        '<a href="https://example.com/x?a=1" rel="noopener noreferrer nofollow" '
        'target="_blank">https://example.com/x?a=1</a>' in html
    )
    assert "javascript:alert(1)</div>" in html  # shown as text, not a link
    assert f'href="/conversations/{earlier}"' in html  # the permanent record
    assert "response due" in html
    assert f'data-conversation="{current}"' in html


def test_a_missing_conversation_is_a_404_page(web: Web) -> None:
    client = web.sign_in("agent")
    r = client.get("/conversations/999")
    assert r.status_code == 404
    assert "conversation 999 does not exist" in r.text
    assert r.headers["content-type"].startswith("text/html")


def test_a_reply_is_queued_once_however_often_the_form_is_sent(web: Web) -> None:
    conversation = post(web, "t1")
    client = web.sign_in("agent")
    form = {"text": "Sorry! We are on it.", "idempotency_key": "page-key-123456"}
    first = web.post_form(client, f"/conversations/{conversation}/reply", form)
    again = web.post_form(client, f"/conversations/{conversation}/reply", form)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == f"/conversations/{conversation}?done=replied"
    with web.desk.engine.connect() as conn:
        assert len(list(conn.execute(select(t.outbox)))) == 1
    page = client.get(first.headers["location"]).text
    assert "Reply queued" in page
    assert "Queued…" in page


def test_a_refused_reply_keeps_the_text_and_changes_nothing(web: Web) -> None:
    conversation = post(web, "t1")
    client = web.sign_in("agent")
    before = web.snapshot()
    long = "x" * 281
    r = web.post_form(client, f"/conversations/{conversation}/reply", {"text": long})
    assert r.status_code == 422
    assert "the reply is 281 characters; X allows 280" in r.text
    assert f">{long}</textarea>" in r.text
    assert web.snapshot() == before


def test_a_reply_crossing_a_colleagues_is_held_until_forced(web: Web) -> None:
    conversation = post(web, "t1")
    agent = web.sign_in("agent")
    seen = re.search(
        r'id="seen-up-to" name="seen_up_to" value="([^"]+)"',
        agent.get(f"/conversations/{conversation}").text,
    )
    assert seen is not None
    clock = web.desk.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(minutes=1)
    colleague = web.sign_in("supervisor")
    web.post_form(colleague, f"/conversations/{conversation}/reply", {"text": "On it!"})
    form = {"text": "Hello from me too", "seen_up_to": seen.group(1)}
    held = web.post_form(agent, f"/conversations/{conversation}/reply", form)
    assert held.status_code == 409
    assert "The supervisor replied at" in held.text
    assert 'name="force"' in held.text
    assert ">Hello from me too</textarea>" in held.text
    forced = web.post_form(agent, f"/conversations/{conversation}/reply", {**form, "force": "yes"})
    assert forced.status_code == 303


def test_a_note_mentioning_a_colleague_and_a_team_notifies_them(web: Web) -> None:
    desk = web.desk
    create_team(desk.uow(), "Social Care", desk.clock.now(), None)
    with desk.uow() as unit:
        team = next(t for t in unit.teams.list_all() if t.name == "Social Care")
        admin = unit.agents.find("admin")
        assert admin is not None
        assert team.id is not None
        admin.team_ids = [team.id]
        unit.agents.update(admin)
        unit.commit()
    conversation = post(web, "t1")
    agent = web.sign_in("agent")
    r = web.post_form(
        agent,
        f"/conversations/{conversation}/notes",
        {"note": "@supervisor can you approve? cc @social-care <b>"},
    )
    assert r.status_code == 303
    supervisor = web.sign_in("supervisor")
    assert re.search(r'<span class="badge"[^>]*>1</span>', supervisor.get("/").text)
    notices = supervisor.get("/notices").text
    assert (
        "The agent mentioned @supervisor: @supervisor can you approve? cc @social-care &lt;b&gt;"
        in notices
    )
    assert f'href="/conversations/{conversation}"' in notices
    admin_page = web.sign_in("admin").get("/notices").text
    assert "mentioned @social-care" in admin_page
    assert "mentioned" not in agent.get("/notices").text  # not the author
    web.post_form(supervisor, "/notices/read")
    assert 'class="badge"' not in supervisor.get("/ui/notices/badge").text


def test_assign_tag_snooze_reopen_close_and_remind_from_the_page(web: Web) -> None:
    conversation = post(web, "t1")
    client = web.sign_in("agent")
    base = f"/conversations/{conversation}"
    assert web.post_form(client, f"{base}/assign", {"assignee": "me"}).status_code == 303
    assert web.post_form(client, f"{base}/tags", {"add": "refund, vip"}).status_code == 303
    assert web.post_form(client, f"{base}/tags", {"remove": "vip"}).status_code == 303
    assert web.post_form(client, f"{base}/customer-tags", {"add": "press"}).status_code == 303
    assert 'aria-label="remove customer tag press"' in client.get(base).text
    assert web.post_form(client, f"{base}/snooze", {"until": "4h"}).status_code == 303
    page = client.get(base).text
    assert "snoozed until" in page
    assert web.post_form(client, f"{base}/reopen").status_code == 303
    assert (
        web.post_form(
            client,
            f"{base}/remind",
            {
                "when": "at",
                "when_at": "2026-03-02T12:30",
                "tz_offset": "-60",
                "reminder": "call back",
            },
        ).status_code
        == 303
    )
    assert web.post_form(client, f"{base}/close", {"reason": "solved"}).status_code == 303
    with web.desk.engine.connect() as conn:
        row = conn.execute(
            select(t.conversations).where(t.conversations.c.id == conversation)
        ).one()
        tags = [r.tag for r in conn.execute(select(t.conversation_tags))]
        notice = conn.execute(select(t.agent_notices)).one()
    assert row.status == "closed"
    assert row.close_reason == "solved"
    assert tags == ["refund"]
    assert notice.kind == "reminder"
    assert notice.text == "call back"
    assert notice.due_at.isoformat() == "2026-03-02T11:30:00+00:00"  # 12:30 at UTC+1
    clock = web.desk.clock
    assert isinstance(clock, FrozenClock)
    assert "call back" not in client.get("/notices").text  # not due yet
    clock.advance(hours=3)
    assert "call back" in client.get("/notices").text


@pytest.mark.parametrize(
    ("path", "form", "message"),
    [
        ("snooze", {"until": "at", "until_at": "yesterday"}, "is not a date and time"),
        ("snooze", {"until": "at"}, "choose when"),
        ("remind", {"when": "1h", "reminder": "\x00"}, "printable characters"),
        ("assign", {"assignee": "99999"}, "99999"),
        ("tags", {}, "type a tag to add"),
    ],
)
def test_a_refused_action_says_why_and_changes_nothing(
    web: Web, path: str, form: dict[str, str], message: str
) -> None:
    conversation = post(web, "t1")
    client = web.sign_in("agent")
    before = web.snapshot()
    r = web.post_form(client, f"/conversations/{conversation}/{path}", form)
    assert r.status_code in (404, 409, 422)
    assert message in r.text
    assert web.snapshot() == before


def test_forms_without_the_sessions_token_are_refused_and_change_nothing(web: Web) -> None:
    conversation = post(web, "t1")
    client = web.sign_in("agent")
    before = web.snapshot()
    for path in ("reply", "notes", "assign", "close", "tags"):
        r = client.post(
            f"/conversations/{conversation}/{path}",
            data={"text": "hi", "note": "hi", "assignee": "me", "add": "x", "csrf_token": "no"},
        )
        assert r.status_code == 403, path
        assert "reload the page" in r.text
    assert web.snapshot() == before


def test_a_template_fills_the_composer_for_this_customer(web: Web) -> None:
    conversation = post(web, "t1", author="dana")
    admin = web.sign_in("admin")
    with web.desk.uow(read_only=True) as unit:
        author = unit.agents.find("admin")
    assert author is not None
    create_template(
        web.desk.uow(),
        author,
        "sorry",
        "Hi {customer.first_name}, sorry! {agent.name}",
        web.desk.clock.now(),
    )
    r = admin.get(f"/ui/conversations/{conversation}/compose?template=sorry")
    assert r.status_code == 200
    assert ">Hi Dana, sorry! The admin</textarea>" in r.text
    assert 'data-max="280"' in r.text


def test_viewing_beats_show_who_else_is_here(web: Web) -> None:
    conversation = post(web, "t1")
    agent = web.sign_in("agent")
    supervisor = web.sign_in("supervisor")
    r = web.post_form(agent, f"/ui/conversations/{conversation}/activity", {"kind": "typing"})
    assert r.status_code == 200
    assert r.text.strip() == ""
    seen = web.post_form(
        supervisor, f"/ui/conversations/{conversation}/activity", {"kind": "viewing"}
    )
    assert "The agent is typing" in seen.text
    assert "The agent typing" in supervisor.get("/").text  # the inbox row shows it too


def test_the_event_stream_starts_where_the_page_was_drawn(web: Web) -> None:
    client = web.sign_in("agent")
    page = client.get("/").text
    since = re.search(r'sse-connect="/ui/stream\?after=(\d+)"', page)
    assert since is not None
    conversation = post(web, "t1")
    lines: list[str] = []
    with client.stream("GET", f"/ui/stream?after={since.group(1)}", timeout=10) as stream:
        for line in stream.iter_lines():
            lines.append(line)
            if line == f"event: c{conversation}":
                break
    assert "event: changed" in lines
    assert any(line.startswith("id: ") for line in lines)


def test_the_presence_menu_sets_presence(web: Web) -> None:
    client = web.sign_in("agent")
    r = web.post_form(client, "/ui/presence", {"presence": "away"})
    assert r.status_code == 303
    with web.desk.engine.connect() as conn:
        presence = conn.execute(
            select(t.agents.c.presence).where(t.agents.c.username == "agent")
        ).scalar_one()
    assert presence == "away"
    assert web.post_form(client, "/ui/presence", {"presence": "asleep"}).status_code == 422


def test_signing_in_makes_an_offline_agent_online(web: Web) -> None:
    web.sign_in("agent")
    with web.desk.engine.connect() as conn:
        presence = conn.execute(
            select(t.agents.c.presence).where(t.agents.c.username == "agent")
        ).scalar_one()
    assert presence == "online"


def test_retry_is_offered_for_a_failed_reply_and_sends_again(web: Web) -> None:
    conversation = post(web, "t1")
    client = web.sign_in("agent")
    web.post_form(client, f"/conversations/{conversation}/reply", {"text": "hello"})
    with web.desk.engine.begin() as conn:
        conn.execute(t.outbox.update().values(state="failed", last_error="X said 403: duplicate"))
        message_id = conn.execute(select(t.outbox.c.message_id)).scalar_one()
    page = client.get(f"/conversations/{conversation}").text
    assert "X said 403: duplicate" in page
    action = f"/conversations/{conversation}/messages/{message_id}/retry"
    assert f'action="{action}"' in page
    assert web.post_form(client, action).status_code == 303
    with web.desk.engine.connect() as conn:
        assert conn.execute(select(t.outbox.c.state)).scalar_one() == "queued"
