"""The listening and alerts pages over real HTTP, on SQLite and PostgreSQL: a query written with a
mistake comes back with the problem marked at its place and the text as typed; a saved query shows
its counts and its matches with the terms marked (post text escaped); the alerts page lists open
alerts first with samples that link to their conversations. Agents are refused; a refused form
changes nothing."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx2
import pytest

from socialdesk.domain.alerts import Alert, SubjectKind
from socialdesk.domain.spikes import SpikeState
from socialdesk.services.intake import ingest
from socialdesk.worker import JOBS
from tests import factories as f
from tests.e2e.conftest import Web
from tests.fakes import FakeClassifier

SCRIPT = "<script>alert(1)</script>"


def ok(response: httpx2.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "style=" not in page  # the Content-Security-Policy allows no inline style
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None
    return page


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def post(web: Web, external_id: str, text: str) -> int:
    now = web.desk.clock.now()
    result = ingest(
        web.desk.uow,
        [f.inbound(web.channel_id, external_id, text, author=f"u{external_id}", at=now)],
        now=now,
        policy=web.desk.policy,
        source="test",
    )
    return result.outcomes[0].conversation_id


@pytest.fixture
def supervisor(web: Web) -> httpx2.Client:
    return web.sign_in("supervisor")


def save(web: Web, client: httpx2.Client, name: str, query: str) -> int:
    r = web.post_form(
        client, "/supervisor/listening", {"name": name, "query": query, "active": "yes"}
    )
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.endswith("?done=created")
    return int(location.split("/")[-1].split("?")[0])


def test_a_query_with_a_mistake_comes_back_marked_where_it_is(
    web: Web, supervisor: httpx2.Client
) -> None:
    before = web.snapshot()
    typed = f"(outage OR {SCRIPT}"
    r = web.post_form(
        supervisor, "/supervisor/listening", {"name": "Outages", "query": typed, "active": "yes"}
    )
    assert r.status_code == 422
    assert web.snapshot() == before
    page = r.text
    assert "the parenthesis opened here is never closed (at position 0)" in html.unescape(page)
    assert SCRIPT not in page
    assert html.escape(SCRIPT, quote=False) in page  # kept as typed, escaped
    assert '<mark class="sv-at">(</mark>' in page
    assert 'value="Outages"' in page


def test_a_saved_query_shows_its_counts_and_marked_matches(
    web: Web, supervisor: httpx2.Client
) -> None:
    web.desk.classifier_override = FakeClassifier()
    query_id = save(web, supervisor, "Outage Watch", '"app is down" OR outage')
    found = post(web, "1", f"angry: the App is DOWN {SCRIPT}")
    post(web, "2", "all fine")
    JOBS["triaged"](web.desk)

    listed = ok(supervisor.get("/supervisor/listening"))
    row = re.search(rf'<tr data-id="{query_id}">(.*?)</tr>', listed, re.S)
    assert row is not None
    assert text_of(row.group(1)) == (
        'Outage Watch "app is down" OR outage 1 1 active listening:outage-watch'
    )

    page = ok(supervisor.get(f"/supervisor/listening/{query_id}?done=created"))
    assert "Query saved" in page
    assert SCRIPT not in page
    assert "<mark>App is DOWN</mark> &lt;script&gt;" in page
    assert f'href="/conversations/{found}"' in page
    assert "negative" in text_of(page)
    per_day = re.search(r'<section class="panel" id="per-day">(.*?)</section>', page, re.S)
    assert per_day is not None
    assert "Mon 02 Mar 1 1" in text_of(per_day.group(1))  # the desk's day: 1 match, negative


def test_changing_and_deleting_a_query(web: Web, supervisor: httpx2.Client) -> None:
    query_id = save(web, supervisor, "Outage Watch", "outage")
    path = f"/supervisor/listening/{query_id}"
    before = web.snapshot()
    refused = web.post_form(supervisor, path, {"name": "Outages", "query": "outage AND"})
    assert refused.status_code == 422
    assert web.snapshot() == before
    assert "outage AND" in refused.text
    assert "needs a term after it" in html.unescape(refused.text)

    r = web.post_form(supervisor, path, {"name": "Outages", "query": "outage OR down"})
    assert (r.status_code, r.headers["location"]) == (303, f"{path}?done=updated")
    page = text_of(ok(supervisor.get(f"{path}?done=updated")))
    assert "Listening · Outages" in page
    assert "off: new posts are not matched" in page  # the box was not ticked

    r = web.post_form(supervisor, f"{path}/delete")
    assert (r.status_code, r.headers["location"]) == (303, "/supervisor/listening?done=deleted")
    assert "No listening query yet" in ok(supervisor.get("/supervisor/listening"))
    assert supervisor.get(path).status_code == 404


def test_alerts_open_first_with_samples_linking_to_conversations(
    web: Web, supervisor: httpx2.Client
) -> None:
    conversation = post(web, "1", "down again")
    now = web.desk.clock.now()
    sample = {
        "message_id": 1,
        "conversation_id": conversation,
        "handle": "@u1",
        "text": SCRIPT,
        "at": now.isoformat(),
        "negative": True,
    }
    with web.desk.analytics_uow() as unit:
        for subject, closed in (("old storm", True), ("Outage Watch", False)):
            unit.listening.add_alert(
                Alert(
                    subject_kind=SubjectKind.QUERY,
                    subject=subject,
                    kinds=["volume"],
                    summary=f"Volume 12.0× normal ({subject})",
                    details={"observed": 24, "expected": 2.0, "ratio": 12.0, "posts": [sample]},
                    opened_at=now - timedelta(hours=1),
                    closed_at=now if closed else None,
                    state=SpikeState(),
                )
            )
        unit.commit()
    page = ok(supervisor.get("/supervisor/alerts"))
    assert page.index("Outage Watch") < page.index("old storm")
    assert SCRIPT not in page
    assert f'<a href="/conversations/{conversation}">@u1</a>' in page
    assert "24 posts against 2.0 expected (12.0×)" in text_of(page)


def test_agents_are_refused_the_pages_and_the_forms(web: Web, supervisor: httpx2.Client) -> None:
    query_id = save(web, supervisor, "Outage Watch", "outage")
    agent = web.sign_in("agent")
    for path in (
        "/supervisor/listening",
        f"/supervisor/listening/{query_id}",
        "/supervisor/alerts",
    ):
        assert agent.get(path).status_code == 403, path
    before = web.snapshot()
    for path, data in (
        ("/supervisor/listening", {"name": "Mine", "query": "down"}),
        (f"/supervisor/listening/{query_id}", {"name": "Mine", "query": "down"}),
        (f"/supervisor/listening/{query_id}/delete", {}),
    ):
        assert web.post_form(agent, path, data).status_code == 403, path
        assert supervisor.post(path, data=data).status_code == 403, path  # no CSRF token
    assert web.snapshot() == before
