"""The quality pages over real HTTP, on SQLite and PostgreSQL: a supervisor draws a sample,
reviews a conversation from it (a refused review keeps what was chosen and typed), and sees the
results per agent; agents are refused; a form without the session's CSRF token changes nothing."""

from __future__ import annotations

import html
import re

import httpx2
import pytest

from socialdesk.domain.agents import Agent
from tests.e2e.conftest import Web
from tests.support.reviewing import handled

SCRIPT = "<script>alert(1)</script>"
FULL = {
    "score.tone": "4",
    "score.accuracy": "5",
    "score.brand_voice": "3",
    "score.resolution": "5",
    "score.policy": "n/a",
}


def user(web: Web, username: str) -> Agent:
    with web.desk.uow(read_only=True) as unit:
        found = unit.agents.find(username)
    assert found is not None
    return found


def closed(web: Web, n: int, text: str = "my parcel is lost", handled_by: str = "agent") -> int:
    return handled(
        web.desk, web.channel_id, n, user(web, "admin"), assignee=user(web, handled_by), text=text
    )


def later(web: Web) -> None:
    web.desk.clock.advance(minutes=5)  # type: ignore[attr-defined]


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def review_links(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="(/supervisor/quality/\d+\?[^"]+)"', page)]


@pytest.fixture
def supervisor(web: Web) -> httpx2.Client:
    return web.sign_in("supervisor")


def test_a_supervisor_reviews_a_sampled_conversation(web: Web, supervisor: httpx2.Client) -> None:
    first = closed(web, 1, f"parcel lost {SCRIPT}")
    second = closed(web, 2, "wrong size")
    later(web)
    home = supervisor.get("/supervisor/quality")
    assert home.status_code == 200, home.text
    assert '<a href="/supervisor/quality">Quality</a>' in home.text
    assert "style=" not in home.text

    drawn = supervisor.get("/supervisor/quality?mode=random&seed=7&size=10")
    assert drawn.status_code == 200, drawn.text
    assert SCRIPT not in drawn.text
    assert html.escape(SCRIPT) in drawn.text
    links = review_links(drawn.text)
    assert len(links) == 2
    link = next(x for x in links if f"/supervisor/quality/{first}?" in x)
    assert "sampled_by=random" in link

    page = supervisor.get(link)
    assert page.status_code == 200, page.text
    assert SCRIPT not in page.text
    assert "parcel lost" in page.text
    assert 'hx-get="/ui/conversations' not in page.text  # the thread is read-only
    assert page.text.count('name="score.tone"') == 7  # 0..5 and n/a
    back = re.search(r'name="back" value="([^"]*)"', page.text)
    assert back is not None
    assert "seed=7" in html.unescape(back.group(1))

    before = web.snapshot()
    partial = {k: v for k, v in FULL.items() if k != "score.policy"}
    form = {**partial, "comment": "Kind, but no refund policy cited.", "sampled_by": "random"}
    refused = web.post_form(supervisor, f"/supervisor/quality/{first}", form)
    assert refused.status_code == 422, refused.text
    assert "Policy: give it 0 to 5 points, or n/a" in text_of(refused.text)
    assert 'id="criterion-policy" aria-invalid="true"' in refused.text
    assert "Kind, but no refund policy cited." in refused.text
    assert '<input type="radio" name="score.tone" value="4" checked>' in refused.text
    assert web.snapshot() == before

    form["score.policy"] = "n/a"
    form["back"] = html.unescape(back.group(1))
    saved = web.post_form(supervisor, f"/supervisor/quality/{first}", form)
    assert saved.status_code == 303, saved.text
    target = saved.headers["location"]
    assert target.startswith("/supervisor/quality?")
    assert target.endswith("done=reviewed")
    assert "seed=7" in target

    after = supervisor.get(target)
    assert "Review saved." in after.text
    assert [f"/supervisor/quality/{second}?" in x for x in review_links(after.text)] == [True]
    weeks = re.search(r'<table class="grid" id="agent-weeks">(.*?)</table>', after.text, re.S)
    assert weeks is not None
    # (4/5 + 5/5 + 3/5 + 5/5) / 4 = 0.85
    assert "The agent 2026-03-02 1 85.0 80.0 100.0 60.0 100.0 –" in text_of(weeks.group(1))

    again = web.post_form(supervisor, f"/supervisor/quality/{first}", form)
    assert again.status_code == 409
    assert "reviewed conversation" in again.text
    page = supervisor.get(f"/supervisor/quality/{first}")
    assert "85 by The supervisor" in text_of(page.text)


def test_a_wrong_sample_request_is_shown_on_the_page(web: Web, supervisor: httpx2.Client) -> None:
    r = supervisor.get("/supervisor/quality?mode=agent")
    assert r.status_code == 422
    assert "mode agent needs the agent" in r.text
    assert supervisor.get("/supervisor/quality?mode=random&from=someday").status_code == 422


def test_an_agent_is_refused(web: Web) -> None:
    conversation_id = closed(web, 1, handled_by="supervisor")
    agent = web.sign_in("agent")
    for path in ("/supervisor/quality", f"/supervisor/quality/{conversation_id}"):
        r = agent.get(path)
        assert r.status_code == 403, path
    assert '<a href="/supervisor/quality">' not in agent.get("/").text
    before = web.snapshot()
    r = web.post_form(agent, f"/supervisor/quality/{conversation_id}", FULL)
    assert r.status_code == 403
    assert web.snapshot() == before


def test_a_form_without_the_csrf_token_changes_nothing(web: Web, supervisor: httpx2.Client) -> None:
    conversation_id = closed(web, 1)
    before = web.snapshot()
    r = supervisor.post(f"/supervisor/quality/{conversation_id}", data=FULL)
    assert r.status_code == 403
    assert web.snapshot() == before
