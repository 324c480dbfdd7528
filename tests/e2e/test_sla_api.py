"""SLA over real HTTP, on SQLite and PostgreSQL: business-hours calendars and policies kept by
supervisors, due times in a team's hours (weekends, holidays, time zones), per-priority targets,
the worker's sweep moving conversations to warning and breach with one event each, the
resolution clock pausing while the customer is the one to answer, and the queue by due time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from socialdesk.adapters.db import tables as t
from socialdesk.worker import JOBS
from tests.e2e.conftest import Api
from tests.fakes import FakeClassifier, FrozenClock

BERLIN = {
    "name": "Berlin office",
    "timezone": "Europe/Berlin",
    "weekly": {"mon-fri": "09:00-17:00"},
    "holiday_country": "DE",
}
CARE = {
    "name": "care",
    "targets": [
        {"first_response": 60, "next_response": 120, "resolution": 480},
        {"priority_min": 70, "first_response": 15},
    ],
    "calendar": "Berlin office",
}


# -- helpers ----------------------------------------------------------------------------------


def clock(api: Api) -> FrozenClock:
    assert isinstance(api.desk.clock, FrozenClock)
    return api.desk.clock


def move_clock_to(api: Api, when: datetime) -> None:
    now = clock(api).now()
    assert when >= now
    clock(api).advance(seconds=(when - now).total_seconds())


def put(api: Api, path: str, body: dict[str, Any], as_: str = "supervisor") -> Any:
    return api.request("PUT", path, json=body, as_=as_)


def make_team(api: Api, name: str, **routing: str) -> int:
    r = api.post("/api/v1/teams", json={"name": name})
    assert r.status_code == 201, r.text
    team_id: int = r.json()["id"]
    if routing:
        changed = api.request("PATCH", f"/api/v1/teams/{team_id}", json=routing, as_="supervisor")
        assert changed.status_code == 200, changed.text
    return team_id


def message(
    api: Api, author: str, text: str = "@brand where is my parcel?", answers: int | None = None
) -> int:
    """A customer post written now (answering the first message of conversation `answers`);
    returns its conversation's id."""
    in_reply_to = None
    if answers is not None:
        thread = api.get(f"/api/v1/conversations/{answers}").json()["messages"]
        in_reply_to = thread[0]["external_id"]
    r = api.post(
        "/api/v1/messages",
        json={
            "channel_id": api.channel_id,
            "external_id": f"m-{author}-{clock(api).now().timestamp()}",
            "text": text,
            "created_at": clock(api).now().isoformat(),
            "author": {"external_id": author, "handle": f"@{author}", "name": author.title()},
            "in_reply_to": in_reply_to,
        },
    )
    assert r.status_code == 201, r.text
    cid: int = r.json()["conversation_id"]
    return cid


def to_team(api: Api, cid: int, team_id: int) -> None:
    r = api.post(f"/api/v1/conversations/{cid}/assign", json={"team_id": team_id})
    assert r.status_code == 200, r.text


def sla_of(api: Api, cid: int) -> dict[str, Any]:
    r = api.get(f"/api/v1/conversations/{cid}", as_="agent")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()["conversation"]["sla"]
    return found


def sweep(api: Api) -> int:
    return JOBS["sla"](api.desk)


def events(api: Api, kind: str) -> list[Any]:
    e = t.events.c
    with api.desk.engine.connect() as conn:
        return list(conn.execute(select(t.events).where(e.type == kind).order_by(e.id)))


@pytest.fixture
def care(api: Api) -> int:
    """The Berlin calendar, the `care` policy, and a team Care with that policy by default."""
    assert put(api, "/api/v1/calendars", BERLIN).status_code == 200
    assert put(api, "/api/v1/sla-policies", CARE).status_code == 200
    return make_team(api, "Care", sla_policy="care")


# -- keeping calendars and policies -------------------------------------------------------------


class TestKeeping:
    def test_calendar_and_policy_round_trip(self, api: Api) -> None:
        r = put(api, "/api/v1/calendars", {**BERLIN, "extra_holidays": ["2026-12-24"]})
        assert r.status_code == 200, r.text
        calendar = r.json()
        assert {k: v for k, v in calendar.items() if k != "id"} == {
            "name": "Berlin office",
            "timezone": "Europe/Berlin",
            "weekly": {"mon-fri": "09:00-17:00"},
            "holiday_country": "DE",
            "holiday_subdivision": None,
            "extra_holidays": ["2026-12-24"],
        }
        assert api.get("/api/v1/calendars", as_="agent").json() == [calendar]
        p = put(api, "/api/v1/sla-policies", {**CARE, "warn_before_minutes": 20})
        assert p.status_code == 200, p.text
        policy = p.json()
        assert {k: v for k, v in policy.items() if k != "id"} == {
            "name": "care",
            "targets": CARE["targets"],
            "calendar": "Berlin office",
            "pause_when_pending": True,
            "warn_before_minutes": 20,
        }
        assert api.get("/api/v1/sla-policies", as_="agent").json() == [policy]
        # Saving under the same name replaces, keeping the id.
        again = put(api, "/api/v1/calendars", {**BERLIN, "weekly": {"mon-sat": "08:00-20:00"}})
        assert (again.json()["id"], again.json()["weekly"]) == (
            calendar["id"],
            {"mon-sat": "08:00-20:00"},
        )
        assert len(api.get("/api/v1/calendars").json()) == 1
        replaced = put(
            api, "/api/v1/sla-policies", {"name": "care", "targets": [{"resolution": 5}]}
        )
        assert (replaced.json()["id"], replaced.json()["calendar"]) == (policy["id"], None)

    @pytest.mark.parametrize(
        ("change", "says"),
        [
            ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone 'Mars/Olympus_Mons'"),
            ({"weekly": {"mon": ["09:00-12:00", "11:00-17:00"]}}, "overlap"),
            ({"weekly": {"mon-fri": "09:00-17:00", "fri": "16:00-18:00"}}, "overlap"),
            ({"weekly": {"mon": "17:00-09:00"}}, "ends before it starts"),
            ({"weekly": {"funday": "09:00-17:00"}}, "unknown day 'funday'"),
            ({"weekly": {"mon-sun": "closed"}}, "must be open at some time"),
            ({"weekly": {"mon": "9am-5pm"}}, "is not a time like"),
            ({"holiday_country": "XX"}, "unknown country 'XX'"),
            ({"holiday_country": None, "holiday_subdivision": "BY"}, "needs its holiday_country"),
            ({"extra_holidays": ["24.12.2026"]}, "is not a date like"),
            ({"name": "  "}, "a name is"),
        ],
    )
    def test_invalid_calendar_is_refused_with_the_reason(
        self, api: Api, change: dict[str, Any], says: str
    ) -> None:
        before = api.snapshot()
        r = put(api, "/api/v1/calendars", {**BERLIN, **change})
        assert r.status_code == 422, r.text
        assert says in r.json()["detail"]
        assert api.snapshot() == before

    @pytest.mark.parametrize(
        ("change", "says"),
        [
            ({"targets": []}, "needs at least one target"),
            ({"calendar": "Paris office"}, "there is no calendar named 'Paris office'"),
            ({"targets": [{"priority_min": 70}]}, "targets[0] sets no target"),
            ({"targets": [{"first_response": -5}]}, "must be a number of minutes above 0"),
            ({"targets": [{"first_response": "1h"}]}, "must be a number of minutes above 0"),
            ({"targets": [{"first_responce": 60}]}, "unknown keys ['first_responce']"),
            ({"targets": [{"priority_min": 101, "first_response": 5}]}, "priority_min must be"),
            ({"targets": [{"platform": "X!", "first_response": 5}]}, "not a platform name"),
            (
                {"targets": [{"first_response": 60}, {"first_response": 30}]},
                "two targets for priority >= 0",
            ),
            ({"warn_before_minutes": -1}, "warn_before_minutes"),
        ],
    )
    def test_invalid_policy_is_refused_with_the_reason(
        self, api: Api, change: dict[str, Any], says: str
    ) -> None:
        assert put(api, "/api/v1/calendars", BERLIN).status_code == 200
        before = api.snapshot()
        r = put(api, "/api/v1/sla-policies", {**CARE, **change})
        assert r.status_code == 422, r.text
        assert says in r.text
        assert api.snapshot() == before

    def test_agents_read_supervisors_keep(self, api: Api) -> None:
        before = api.snapshot()
        assert put(api, "/api/v1/calendars", BERLIN, as_="agent").status_code == 403
        assert put(api, "/api/v1/sla-policies", CARE, as_="agent").status_code == 403
        assert api.snapshot() == before
        assert api.get("/api/v1/calendars", as_="agent").json() == []
        assert api.get("/api/v1/sla-policies", as_="agent").json() == []


# -- due times ----------------------------------------------------------------------------------


class TestDueTimes:
    def test_friday_afternoon_is_due_on_monday_morning(self, api: Api, care: int) -> None:
        move_clock_to(api, datetime(2026, 3, 6, 15, 30, tzinfo=UTC))  # Fri 16:30 in Berlin
        cid = message(api, "ann")
        to_team(api, cid, care)
        assert sweep(api) >= 1
        sla = sla_of(api, cid)
        policy = api.get("/api/v1/sla-policies").json()[0]
        assert sla == {
            "policy_id": None,  # the team's policy, not one of the conversation's own
            "state": "ok",
            "first_response_due_at": "2026-03-09T08:30:00Z",  # Mon 09:30 in Berlin
            "next_response_due_at": None,
            "resolution_due_at": "2026-03-09T15:30:00Z",  # 8 h: Fri 30 min, Mon 7 h 30 min
        }
        assert policy["name"] == "care"
        summary = api.get(f"/api/v1/conversations/{cid}").json()["conversation"]
        assert summary["sla_due_at"] == "2026-03-09T08:30:00Z"

    def test_holidays_and_summer_time_are_closed_time(self, api: Api, care: int) -> None:
        # Thursday before Easter, 16:30 summer time in Berlin; Good Friday and Easter Monday
        # are public holidays in Germany.
        move_clock_to(api, datetime(2026, 4, 2, 14, 30, tzinfo=UTC))
        cid = message(api, "ann")
        to_team(api, cid, care)
        sweep(api)
        assert sla_of(api, cid)["first_response_due_at"] == "2026-04-07T07:30:00Z"

    def test_a_policy_without_a_calendar_counts_in_the_teams_hours(self, api: Api) -> None:
        assert put(api, "/api/v1/calendars", BERLIN).status_code == 200
        plain = {"name": "plain", "targets": [{"first_response": 60}]}
        assert put(api, "/api/v1/sla-policies", plain).status_code == 200
        berlin = make_team(api, "Berlin", sla_policy="plain", calendar="Berlin office")
        anywhere = make_team(api, "Anywhere", sla_policy="plain")
        move_clock_to(api, datetime(2026, 3, 6, 15, 30, tzinfo=UTC))
        in_berlin, elsewhere = message(api, "ann"), message(api, "ben")
        to_team(api, in_berlin, berlin)
        to_team(api, elsewhere, anywhere)
        sweep(api)
        assert sla_of(api, in_berlin)["first_response_due_at"] == "2026-03-09T08:30:00Z"
        assert sla_of(api, elsewhere)["first_response_due_at"] == "2026-03-06T16:30:00Z"
        # A calendar named `default` is the hours of teams without their own.
        assert put(api, "/api/v1/calendars", {**BERLIN, "name": "default"}).status_code == 200
        clock(api).advance(seconds=1)  # a later change: the sweep recomputes what changed since
        assert api.post(f"/api/v1/conversations/{elsewhere}/tags", json={"add": ["x"]}).is_success
        sweep(api)
        assert sla_of(api, elsewhere)["first_response_due_at"] == "2026-03-09T08:30:00Z"

    def test_high_priority_gets_the_faster_target(self, api: Api, care: int) -> None:
        api.desk.classifier_override = FakeClassifier()
        playbook = """
version: 1
rules:
  - name: urgent
    when: {keywords: [urgent]}
    then: [{route: Care}, {priority: 80}]
  - name: the rest
    when: {platform: x}
    then: [{route: Care}]
"""
        saved = api.post(
            "/api/v1/playbooks", json={"source": playbook, "comment": "care"}, as_="supervisor"
        )
        assert saved.status_code == 201, saved.text
        urgent = message(api, "ann", "@brand urgent: I was charged twice")
        normal = message(api, "ben", "@brand question about my order")
        for job in ("triaged", "playbook", "sla"):
            JOBS[job](api.desk)
        view = api.get(f"/api/v1/conversations/{urgent}").json()["conversation"]
        assert (view["priority"], view["team"]["name"]) == (80, "Care")
        # Monday 10:00 in Berlin: 15 minutes for priority >= 70, an hour for the rest.
        assert sla_of(api, urgent)["first_response_due_at"] == "2026-03-02T09:15:00Z"
        assert sla_of(api, normal)["first_response_due_at"] == "2026-03-02T10:00:00Z"


# -- the sweep ----------------------------------------------------------------------------------


class TestSweep:
    def test_warning_then_breach_each_recorded_once(self, api: Api, care: int) -> None:
        cid = message(api, "ann")  # Monday 10:00 in Berlin: due 11:00 (10:00Z)
        to_team(api, cid, care)
        sweep(api)
        assert sla_of(api, cid)["state"] == "ok"
        clock(api).advance(minutes=44)  # 16 minutes before the due time
        sweep(api)
        assert sla_of(api, cid)["state"] == "ok"
        clock(api).advance(minutes=2)
        sweep(api)
        assert sla_of(api, cid)["state"] == "warning"
        clock(api).advance(minutes=5)
        sweep(api)
        assert [e.conversation_id for e in events(api, "sla_warning")] == [cid]
        assert events(api, "sla_warning")[0].data["due_at"] == "2026-03-02T10:00:00+00:00"
        assert events(api, "sla_breached") == []
        clock(api).advance(minutes=8)  # 09:59Z: still a minute to go
        sweep(api)
        assert sla_of(api, cid)["state"] == "warning"
        clock(api).advance(minutes=1)
        sweep(api)
        assert sla_of(api, cid)["state"] == "breached"
        clock(api).advance(minutes=30)
        sweep(api)
        assert api.post(f"/api/v1/conversations/{cid}/tags", json={"add": ["late"]}).is_success
        sweep(api)  # a change after the breach refreshes it, still breached
        assert sla_of(api, cid)["state"] == "breached"
        assert [e.conversation_id for e in events(api, "sla_warning")] == [cid]
        assert [e.conversation_id for e in events(api, "sla_breached")] == [cid]

    def test_an_answer_ends_the_breach(self, api: Api, care: int) -> None:
        cid = message(api, "ann")
        to_team(api, cid, care)
        clock(api).advance(hours=2)
        sweep(api)
        assert sla_of(api, cid)["state"] == "breached"
        clock(api).advance(minutes=1)
        r = api.post(f"/api/v1/conversations/{cid}/reply", json={"text": "Sorry, on it!"})
        assert r.status_code == 201, r.text
        sweep(api)
        sla = sla_of(api, cid)
        assert (sla["state"], sla["first_response_due_at"]) == ("ok", None)
        assert sla["resolution_due_at"] is not None

    def test_pending_pauses_the_resolution_clock(self, api: Api, care: int) -> None:
        cid = message(api, "ann")  # Monday 10:00 Berlin
        to_team(api, cid, care)
        sweep(api)
        # 8 business hours: Mon 10:00-17:00, Tue 09:00-10:00 Berlin.
        assert sla_of(api, cid)["resolution_due_at"] == "2026-03-03T09:00:00Z"
        r = api.post(f"/api/v1/conversations/{cid}/reply", json={"text": "Which order?"})
        assert r.status_code == 201, r.text
        sweep(api)
        assert sla_of(api, cid)["state"] == "ok"
        clock(api).advance(hours=2)  # the customer takes two business hours to answer
        assert message(api, "ann", "@brand order 1234", answers=cid) == cid
        sweep(api)
        sla = sla_of(api, cid)
        assert sla["resolution_due_at"] == "2026-03-03T11:00:00Z"  # two hours later
        assert sla["next_response_due_at"] == "2026-03-02T13:00:00Z"  # 12:00 + 2 h Berlin
        assert sla["first_response_due_at"] is None

    def test_without_pause_pending_time_counts(self, api: Api, care: int) -> None:
        assert put(api, "/api/v1/sla-policies", {**CARE, "pause_when_pending": False}).is_success
        cid = message(api, "ann")
        to_team(api, cid, care)
        assert api.post(f"/api/v1/conversations/{cid}/reply", json={"text": "Which?"}).is_success
        clock(api).advance(hours=2)
        assert message(api, "ann", "@brand order 1234", answers=cid) == cid
        sweep(api)
        assert sla_of(api, cid)["resolution_due_at"] == "2026-03-03T09:00:00Z"

    def test_the_queue_by_due_time_lists_breached_first(self, api: Api, care: int) -> None:
        late = message(api, "ann")
        to_team(api, late, care)
        clock(api).advance(minutes=90)
        fresh = message(api, "ben")
        to_team(api, fresh, care)
        no_team = message(api, "cat")  # the desk's targets: an hour around the clock
        sweep(api)
        queue = api.get("/api/v1/conversations", params={"sort": "sla_due"}, as_="agent").json()
        rows = [(c["id"], c["sla"]["state"]) for c in queue["items"]]
        assert rows == [(late, "breached"), (fresh, "ok"), (no_team, "ok")]
        assert [c["sla_due_at"] for c in queue["items"]] == [
            "2026-03-02T10:00:00Z",
            "2026-03-02T11:30:00Z",
            "2026-03-02T11:30:00Z",
        ]
        assert all(set(c["sla"]) >= {"state", "first_response_due_at"} for c in queue["items"])
