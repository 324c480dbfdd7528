"""Listening over real HTTP, on SQLite and PostgreSQL: queries saved, changed, switched off and
deleted by supervisors (agents only read), a query that does not parse refused with the position
of the problem, matches counted after the worker's triage and acted on by the live playbook, and
the alerts listed open first, page by page. A refused request changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from socialdesk.domain.alerts import Alert, SubjectKind
from socialdesk.domain.spikes import SpikeState
from socialdesk.worker import JOBS
from tests.e2e.conftest import Api
from tests.fakes import FakeClassifier

QUERIES = "/api/v1/listening/queries"
PLAYBOOK = """version: 1
rules:
  - name: outages first
    when: {listening_query: outage watch}
    then: [{tag: outage}, {priority: 95}]
"""


def create(api: Api, name: str = "Outage Watch", query: str = "outage OR down", **kw: Any) -> Any:
    r = api.post(QUERIES, json={"name": name, "query": query, **kw}, as_="supervisor")
    assert r.status_code == 201, r.text
    return r.json()


def message(api: Api, external_id: str, text: str) -> int:
    r = api.post(
        "/api/v1/messages",
        json={
            "channel_id": api.channel_id,
            "external_id": external_id,
            "text": text,
            "created_at": api.desk.clock.now().isoformat(),
            "author": {"external_id": f"u{external_id}", "handle": f"@u{external_id}"},
        },
    )
    assert r.status_code == 201, r.text
    conversation_id: int = r.json()["conversation_id"]
    return conversation_id


class TestQueries:
    def test_supervisors_write_and_everyone_reads(self, api: Api) -> None:
        made = create(api)
        assert made["name"] == "Outage Watch"
        assert made["tag"] == "listening:outage-watch"
        assert (made["active"], made["matches_24h"], made["author"]) == (True, 0, "The supervisor")
        listed = api.get(QUERIES, as_="agent")
        assert listed.status_code == 200
        assert [q["name"] for q in listed.json()] == ["Outage Watch"]

        path = f"{QUERIES}/{made['id']}"
        r = api.request("PATCH", path, json={"active": False, "name": "Outages"}, as_="admin")
        assert r.status_code == 200, r.text
        assert (r.json()["name"], r.json()["active"], r.json()["query"]) == (
            "Outages",
            False,
            "outage OR down",
        )
        assert api.get(path, as_="agent").json()["name"] == "Outages"
        assert api.request("DELETE", path, as_="supervisor").status_code == 204
        assert api.get(path).status_code == 404
        assert api.request("DELETE", path, as_="supervisor").status_code == 404

    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [
            ("POST", "", {"name": "Mine", "query": "down"}),
            ("PATCH", "/{id}", {"query": "down"}),
            ("DELETE", "/{id}", None),
        ],
    )
    def test_an_agent_may_not_change_them(
        self, api: Api, method: str, suffix: str, body: dict[str, str] | None
    ) -> None:
        made = create(api)
        before = api.snapshot()
        r = api.request(method, QUERIES + suffix.format(id=made["id"]), json=body, as_="agent")
        assert r.status_code == 403
        assert api.snapshot() == before

    def test_a_query_that_does_not_parse_is_refused_with_the_position(self, api: Api) -> None:
        before = api.snapshot()
        r = api.post(QUERIES, json={"name": "Broken", "query": '"acme bank'}, as_="supervisor")
        assert r.status_code == 422
        problem = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (problem["field"], problem["position"]) == ("query", 0)
        assert "never closed" in problem["detail"]
        assert api.snapshot() == before

        made = create(api)
        before = api.snapshot()
        r = api.request(
            "PATCH", f"{QUERIES}/{made['id']}", json={"query": "down AND"}, as_="supervisor"
        )
        assert (r.status_code, r.json()["position"]) == (422, 5)
        assert api.snapshot() == before

    def test_a_taken_name_is_a_conflict(self, api: Api) -> None:
        create(api)
        before = api.snapshot()
        r = api.post(QUERIES, json={"name": "outage watch", "query": "x"}, as_="supervisor")
        assert (r.status_code, r.json()["field"]) == (409, "name")
        assert api.snapshot() == before

    def test_a_taken_name_with_capitals_outside_ascii_is_a_conflict_too(self, api: Api) -> None:
        """Found by schemathesis: SQLite folds ASCII only, and "À" reached the unique index."""
        body = {"name": "À", "query": "x"}
        assert api.post(QUERIES, json=body, as_="supervisor").status_code == 201
        r = api.post(QUERIES, json=body, as_="supervisor")
        assert (r.status_code, r.json()["field"]) == (409, "name")


def test_the_worker_matches_posts_and_the_playbook_acts_on_them(api: Api) -> None:
    api.desk.classifier_override = FakeClassifier()
    made = create(api)
    r = api.post(
        "/api/v1/playbooks", json={"source": PLAYBOOK, "comment": "outages"}, as_="supervisor"
    )
    assert r.status_code == 201, r.text
    found = message(api, "1", "angry: the app is down")
    other = message(api, "2", "the app is slow")
    JOBS["triaged"](api.desk)
    JOBS["playbook"](api.desk)

    hit = api.get(f"/api/v1/conversations/{found}").json()["conversation"]
    miss = api.get(f"/api/v1/conversations/{other}").json()["conversation"]
    assert hit["tags"] == ["listening:outage-watch", "outage"]
    assert hit["priority"] >= 95
    assert miss["tags"] == []

    r = api.get(f"{QUERIES}/{made['id']}/matches", as_="agent")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["bucket"], body["total"], body["negative"], len(body["counts"])) == (
        "day",
        1,
        1,
        8,
    )
    assert [p["conversation_id"] for p in body["recent"]] == [found]
    assert body["recent"][0]["handle"] == "@u1"
    hourly = api.get(f"{QUERIES}/{made['id']}/matches", params={"bucket": "hour"}).json()
    assert sum(c["matches"] for c in hourly["counts"]) == 1
    assert api.get(QUERIES).json()[0]["matches_24h"] == 1
    too_long = api.get(
        f"{QUERIES}/{made['id']}/matches",
        params={"bucket": "hour", "since": "2026-01-01T00:00:00Z"},
    )
    assert (too_long.status_code, too_long.json()["field"]) == (422, "since")


def test_alerts_are_listed_open_first_page_by_page(api: Api) -> None:
    now = api.desk.clock.now()
    with api.desk.analytics_uow() as unit:
        for i, closed in enumerate((True, False, True)):
            unit.listening.add_alert(
                Alert(
                    subject_kind=SubjectKind.QUERY,
                    subject=f"q{i}",
                    kinds=["volume"],
                    summary=f"Volume {i}",
                    details={"observed": 20, "expected": 2.0, "posts": []},
                    opened_at=now - timedelta(hours=3 - i),
                    closed_at=now if closed else None,
                    state=SpikeState(),
                )
            )
        unit.commit()
    first = api.get("/api/v1/alerts", params={"limit": 2}, as_="agent").json()
    assert [(a["subject"], a["open"]) for a in first["items"]] == [("q1", True), ("q2", False)]
    rest = api.get("/api/v1/alerts", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [a["subject"] for a in rest["items"]] == ["q0"]
    assert rest["next_cursor"] is None
    opened = api.get("/api/v1/alerts", params={"state": "open"}).json()
    assert [a["subject"] for a in opened["items"]] == ["q1"]
    bad = api.get("/api/v1/alerts", params={"cursor": "nonsense"})
    assert (bad.status_code, bad.json()["field"]) == (422, "cursor")
