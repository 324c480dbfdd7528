"""Surveys over real HTTP: the list for supervisors, the survey on the conversation, and the
public answer page (`/s/{token}`) with its form nonce, refusals and strict security headers."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from socialdesk.worker import JOBS
from tests.e2e.conftest import Api

RULES = """\
version: 1
rules:
  - name: CSAT after close
    trigger: close
    then: [{survey: csat}]
"""
LINK = re.compile(r"http://127\.0\.0\.1:8000(/s/[A-Za-z0-9_-]+)")
NONCE = re.compile(r'name="nonce" value="([^"]+)"')


def surveyed(api: Api, external_id: str = "t1", author: str = "u-1") -> tuple[int, str]:
    """A conversation closed and asked; returns its id and the answer page's path."""
    r = api.post(
        "/api/v1/messages",
        json={
            "channel_id": api.channel_id,
            "external_id": external_id,
            "text": "@brand my parcel is lost",
            "created_at": api.desk.clock.now().isoformat(),
            "author": {"external_id": author, "handle": f"@{author}"},
        },
    )
    assert r.status_code == 201, r.text
    conversation: int = r.json()["conversation_id"]
    r = api.post(f"/api/v1/conversations/{conversation}/close", json={"reason": "resolved"})
    assert r.status_code == 200, r.text
    api.desk.clock.advance(minutes=1)  # type: ignore[attr-defined]
    assert JOBS["surveyed"](api.desk) == 1
    view = api.get(f"/api/v1/conversations/{conversation}").json()
    question = next(m for m in view["messages"] if m["survey"] is not None)
    found = LINK.search(question["text"])
    assert found is not None, question["text"]
    return conversation, found.group(1)


@pytest.fixture
def live(api: Api) -> Api:
    r = api.post(
        "/api/v1/playbooks", json={"source": RULES, "comment": "surveys"}, as_="supervisor"
    )
    assert r.status_code == 201, r.text
    return api


def answer(api: Api, path: str, score: str, nonce: str | None = None) -> Any:
    if nonce is None:
        found = NONCE.search(api.client.get(path).text)
        assert found is not None
        nonce = found.group(1)
    return api.client.post(path, data={"score": score, "nonce": nonce})


class TestList:
    def test_supervisors_see_surveys_and_their_answers(self, live: Api) -> None:
        first, path = surveyed(live)
        second, _ = surveyed(live, "t2", author="u-2")
        assert answer(live, path, "4").status_code == 303
        body = live.get("/api/v1/surveys", as_="supervisor").json()
        assert [(i["conversation_id"], i["state"], i["score"]) for i in body["items"]] == [
            (second, "open", None),
            (first, "answered", 4),
        ]
        assert body["items"][1]["answered_via"] == "link"
        answered = live.get("/api/v1/surveys", params={"answered": "true"}).json()["items"]
        assert [i["conversation_id"] for i in answered] == [first]
        one = live.get("/api/v1/surveys", params={"conversation": second}).json()["items"]
        assert [i["conversation_id"] for i in one] == [second]

    def test_pages_and_days(self, live: Api) -> None:
        surveyed(live)
        surveyed(live, "t2", author="u-2")
        page = live.get("/api/v1/surveys", params={"limit": 1}).json()
        rest = live.get("/api/v1/surveys", params={"before": page["next_before"]}).json()
        assert len(page["items"]) == len(rest["items"]) == 1
        assert rest["next_before"] is None
        today = live.desk.clock.now().date()
        tomorrow = (today + timedelta(days=1)).isoformat()
        assert (
            len(live.get("/api/v1/surveys", params={"from": today.isoformat()}).json()["items"])
            == 2
        )
        assert live.get("/api/v1/surveys", params={"from": tomorrow}).json()["items"] == []
        r = live.get("/api/v1/surveys", params={"from": tomorrow, "to": today.isoformat()})
        assert r.status_code == 422
        assert r.json()["field"] == "to"

    def test_agents_may_not_list_surveys(self, live: Api) -> None:
        assert live.get("/api/v1/surveys", as_="agent").status_code == 403
        assert live.get("/api/v1/surveys", as_=None).status_code == 401

    def test_the_conversation_shows_its_survey(self, live: Api) -> None:
        conversation, path = surveyed(live)
        answer(live, path, "5")
        view = live.get(f"/api/v1/conversations/{conversation}").json()
        assert view["survey"]["kind"] == "csat"
        assert (view["survey"]["score"], view["survey"]["answered_via"]) == (5, "link")


class TestAnswerPage:
    def test_the_page_shows_the_scale_and_takes_one_answer(self, live: Api) -> None:
        _, path = surveyed(live)
        page = live.client.get(path)
        assert page.status_code == 200
        assert "How satisfied are you with the help you got?" in page.text
        assert re.findall(r'name="score" value="(\d+)"', page.text) == ["1", "2", "3", "4", "5"]
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert "<script>" not in page.text
        assert "style=" not in page.text
        done = answer(live, path, "4")
        assert (done.status_code, done.headers["location"]) == (303, path)
        thanks = live.client.get(path)
        assert "Your answer, 4, has been recorded" in thanks.text
        assert 'name="score"' not in thanks.text
        again = answer(live, path, "5", nonce=NONCE.search(page.text).group(1))  # type: ignore[union-attr]
        assert again.status_code == 409
        assert "answered already" in again.text

    def test_a_post_without_the_pages_nonce_is_refused(self, live: Api) -> None:
        _, path = surveyed(live)
        _, other = surveyed(live, "t2", author="u-2")
        before = live.snapshot()
        forged = live.client.post(path, data={"score": "1", "nonce": "made-up"})
        assert forged.status_code == 403
        found = NONCE.search(live.client.get(other).text)
        assert found is not None
        crossed = live.client.post(path, data={"score": "1", "nonce": found.group(1)})
        assert crossed.status_code == 403  # a nonce is bound to its own link
        assert live.snapshot() == before

    def test_unknown_links_and_bad_scores_are_clear_pages(self, live: Api) -> None:
        _, path = surveyed(live)
        before = live.snapshot()
        missing = live.client.get("/s/" + "A" * 43)
        assert missing.status_code == 404
        assert "not valid" in missing.text
        assert live.client.get("/s/short").status_code == 404
        assert answer(live, path, "9").status_code == 422
        assert answer(live, path, "five").status_code == 422
        assert live.snapshot() == before

    def test_an_expired_survey_says_so(self, live: Api) -> None:
        _, path = surveyed(live)
        found = NONCE.search(live.client.get(path).text)
        assert found is not None
        live.desk.clock.advance(hours=73)  # type: ignore[attr-defined]
        page = live.client.get(path)
        assert "This survey has closed" in page.text
        late = live.client.post(path, data={"score": "4", "nonce": found.group(1)})
        assert late.status_code == 409

    def test_many_unknown_links_from_one_address_are_stopped(self, live: Api) -> None:
        for _ in range(30):
            assert live.client.get("/s/" + "B" * 43).status_code == 404
        assert live.client.get("/s/" + "B" * 43).status_code == 429
