"""Quality reviews over real HTTP, on SQLite and PostgreSQL: the rubric, samples, reviews and
weekly results; who may do what; a refused request names the criterion and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from socialdesk.domain.agents import Agent
from tests.e2e.conftest import Api
from tests.fakes import FrozenClock
from tests.support.reviewing import answer_survey, handled

SCORES = {"tone": 5, "accuracy": 4, "brand_voice": 4, "resolution": 3, "policy": "n/a"}


def user(api: Api, username: str) -> Agent:
    with api.desk.uow(read_only=True) as unit:
        found = unit.agents.find(username)
    assert found is not None
    return found


def closed(api: Api, handled_by: str | None, n: int, *, close: bool = True) -> int:
    """A customer's post, handled by that user and (unless told) closed."""
    return handled(
        api.desk,
        api.channel_id,
        n,
        user(api, "admin"),
        assignee=user(api, handled_by) if handled_by else None,
        text=f"parcel {n} is lost",
        close=close,
    )


def later(api: Api) -> None:
    assert isinstance(api.desk.clock, FrozenClock)
    api.desk.clock.advance(minutes=5)


def low_csat(api: Api, conversation_id: int, score: int) -> None:
    answer_survey(api.desk, api.channel_id, conversation_id, score)


def review(api: Api, conversation_id: int, as_: str = "supervisor", **changes: Any) -> Any:
    body = {"conversation_id": conversation_id, "scores": SCORES, "comment": "good", **changes}
    return api.post("/api/v1/reviews", json=body, as_=as_)


class TestRubric:
    def test_everyone_reads_it_supervisors_change_it(self, api: Api) -> None:
        default = api.get("/api/v1/reviews/rubric", as_="agent")
        assert default.status_code == 200, default.text
        assert default.json()["id"] is None
        assert [c["key"] for c in default.json()["criteria"]] == [
            "tone",
            "accuracy",
            "brand_voice",
            "resolution",
            "policy",
        ]
        criteria = [
            {"key": "empathy", "label": "Empathy", "weight": 2, "max": 3},
            {"key": "policy", "label": "Policy", "max": 1},
        ]
        before = api.snapshot()
        refused = api.request(
            "PUT", "/api/v1/reviews/rubric", json={"criteria": criteria}, as_="agent"
        )
        assert refused.status_code == 403
        assert api.snapshot() == before
        saved = api.request(
            "PUT", "/api/v1/reviews/rubric", json={"criteria": criteria}, as_="supervisor"
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["id"] is not None
        assert saved.json()["criteria"][1] == {
            "key": "policy",
            "label": "Policy",
            "weight": 1.0,
            "max": 1,
        }
        assert api.get("/api/v1/reviews/rubric", as_="agent").json() == saved.json()

    def test_a_wrong_criterion_is_named_and_nothing_saved(self, api: Api) -> None:
        before = api.snapshot()
        twice = [
            {"key": "tone", "label": "Tone", "max": 5},
            {"key": "tone", "label": "Tone again", "max": 5},
        ]
        r = api.request("PUT", "/api/v1/reviews/rubric", json={"criteria": twice})
        assert r.status_code == 422
        assert r.json()["field"] == "criteria.1.key"
        assert "'tone' is used twice" in r.json()["detail"]
        r = api.request(
            "PUT",
            "/api/v1/reviews/rubric",
            json={"criteria": [{"key": "tone", "label": "Tone", "weight": 0, "max": 5}]},
        )
        assert (r.status_code, r.json()["field"]) == (422, "criteria.0.weight")
        assert api.snapshot() == before


class TestSample:
    def test_supervisors_draw_reproducible_samples(self, api: Api) -> None:
        ids = {closed(api, "agent" if n % 2 else None, n) for n in range(8)}
        closed(api, "agent", 99, close=False)
        later(api)
        assert api.get("/api/v1/reviews/sample", as_="agent").status_code == 403
        r = api.get("/api/v1/reviews/sample?size=5&seed=11", as_="supervisor")
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["mode"], body["seed"], body["size"]) == ("random", 11, 5)
        drawn = [i["conversation"]["id"] for i in body["items"]]
        assert len(drawn) == 5
        assert set(drawn) <= ids
        assert body["items"][0]["conversation"]["preview"].startswith("parcel ")
        again = api.get("/api/v1/reviews/sample?size=5&seed=11", as_="supervisor").json()
        assert [i["conversation"]["id"] for i in again["items"]] == drawn
        unseeded = api.get("/api/v1/reviews/sample", as_="admin").json()
        assert isinstance(unseeded["seed"], int)
        assert {i["conversation"]["id"] for i in unseeded["items"]} == ids

    def test_by_agent_and_by_low_csat(self, api: Api) -> None:
        agents = [closed(api, "agent", n) for n in range(3)]
        mine = closed(api, "supervisor", 10)
        low_csat(api, agents[0], 1)
        low_csat(api, mine, 4)
        later(api)
        agent_id = user(api, "agent").id
        r = api.get(f"/api/v1/reviews/sample?mode=agent&agent={agent_id}")
        assert {i["conversation"]["id"] for i in r.json()["items"]} == set(agents)
        r = api.get("/api/v1/reviews/sample?mode=low_csat")
        assert [(i["conversation"]["id"], i["csat"]) for i in r.json()["items"]] == [(agents[0], 1)]

    @pytest.mark.parametrize(
        ("query", "field"),
        [("mode=agent", "agent"), ("mode=best", "mode"), ("from=2026-03-02&to=2026-03-01", "from")],
    )
    def test_a_wrong_request_says_which_field(self, api: Api, query: str, field: str) -> None:
        r = api.get(f"/api/v1/reviews/sample?{query}")
        assert (r.status_code, r.json()["field"]) == (422, field)

    def test_the_range_is_in_days(self, api: Api) -> None:
        in_range = closed(api, "agent", 1)
        later(api)
        r = api.get("/api/v1/reviews/sample?from=2026-03-02&to=2026-03-02")
        assert [i["conversation"]["id"] for i in r.json()["items"]] == [in_range]
        assert api.get("/api/v1/reviews/sample?from=2026-03-03&to=2026-03-04").json()["items"] == []


class TestReviewing:
    def test_a_supervisor_reviews_a_closed_conversation(self, api: Api) -> None:
        conversation_id = closed(api, "agent", 1)
        r = review(api, conversation_id, sampled_by="random")
        assert r.status_code == 201, r.text
        made = r.json()
        assert made["score"] == 80  # (1 + 0.8 + 0.8 + 0.6) / 4
        assert made["scores"]["policy"] is None
        assert (made["agent"]["name"], made["reviewer"]["name"]) == ("The agent", "The supervisor")
        assert (made["sampled_by"], made["comment"], made["preview"]) == (
            "random",
            "good",
            "parcel 1 is lost",
        )
        assert review(api, conversation_id).status_code == 409  # once per reviewer
        assert review(api, conversation_id, as_="admin").status_code == 201

    def test_a_wrong_score_is_named_and_nothing_changes(self, api: Api) -> None:
        conversation_id = closed(api, "agent", 1)
        before = api.snapshot()
        for scores, field, words in (
            ({**SCORES, "tone": 9}, "scores.tone", "Tone: 9 is not a whole number from 0 to 5"),
            ({**SCORES, "accuracy": 2.5}, "scores.accuracy", "Accuracy"),
            ({k: v for k, v in SCORES.items() if k != "resolution"}, "scores.resolution", ""),
            ({**SCORES, "speed": 3}, "scores.speed", "no criterion 'speed'"),
        ):
            r = review(api, conversation_id, scores=scores)
            assert r.status_code == 422, r.text
            assert r.json()["field"] == field
            assert words in r.json()["detail"]
        r = review(api, conversation_id, comment="x" * 5001)
        assert (r.status_code, r.json()["field"]) == (422, "comment")
        r = review(api, conversation_id, rubric_id=999)
        assert r.status_code == 409
        assert api.snapshot() == before

    def test_who_may_review_what(self, api: Api) -> None:
        agents = closed(api, "agent", 1)
        supervisors = closed(api, "supervisor", 2)
        still_open = closed(api, "agent", 3, close=False)
        before = api.snapshot()
        assert review(api, agents, as_="agent").status_code == 403
        own = review(api, supervisors)
        assert own.status_code == 403
        assert "was yours" in own.json()["detail"]
        assert review(api, still_open).status_code == 409
        assert review(api, 12345).status_code == 404
        assert api.snapshot() == before
        assert review(api, supervisors, as_="admin").status_code == 201


class TestReading:
    def test_agents_read_only_their_own_reviews(self, api: Api) -> None:
        agents = closed(api, "agent", 1)
        admins = closed(api, "admin", 2)
        assert review(api, agents).status_code == 201
        assert review(api, admins).status_code == 201
        everyone = api.get("/api/v1/reviews", as_="supervisor").json()
        assert [r["conversation_id"] for r in everyone["items"]] == [admins, agents]
        assert everyone["next_before"] is None
        own = api.get("/api/v1/reviews", as_="agent").json()["items"]
        assert [r["conversation_id"] for r in own] == [agents]
        other = user(api, "admin").id
        assert api.get(f"/api/v1/reviews?agent={other}", as_="agent").status_code == 403
        weeks = api.get("/api/v1/reviews/agents", as_="agent").json()
        assert [(w["agent"]["name"], w["week"], w["reviews"]) for w in weeks] == [
            ("The agent", "2026-03-02", 1)
        ]
        assert weeks[0]["mean_score"] == 80.0
        assert weeks[0]["criteria"] == {
            "tone": 100.0,
            "accuracy": 80.0,
            "brand_voice": 80.0,
            "resolution": 60.0,
        }
        all_weeks = api.get("/api/v1/reviews/agents?from=2026-03-02&to=2026-03-08").json()
        assert [w["agent"]["name"] for w in all_weeks] == ["The admin", "The agent"]
        assert api.get("/api/v1/reviews/agents?from=2026-03-09").json() == []
