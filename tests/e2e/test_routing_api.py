"""Routing over real HTTP, on SQLite and PostgreSQL: team configuration, agent capacity and
presence (with the hand-over when an agent goes offline), take-next, who is viewing or typing,
and reply collisions between two agents."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from socialdesk.adapters.db import tables as t
from socialdesk.worker import JOBS
from tests.e2e.conftest import Api
from tests.fakes import FakeClassifier, FrozenClock

# -- helpers ----------------------------------------------------------------------------------


def clock(api: Api) -> FrozenClock:
    assert isinstance(api.desk.clock, FrozenClock)
    return api.desk.clock


def team(api: Api, name: str, mode: str | None = None) -> int:
    r = api.post("/api/v1/teams", json={"name": name})
    assert r.status_code == 201, r.text
    team_id: int = r.json()["id"]
    if mode is not None:
        changed = api.request(
            "PATCH", f"/api/v1/teams/{team_id}", json={"assignment_mode": mode}, as_="supervisor"
        )
        assert changed.status_code == 200, changed.text
    return team_id


def user(
    api: Api,
    username: str,
    teams: list[str],
    *,
    presence: str | None = "online",
    capacity: dict[str, int] | None = None,
) -> int:
    """A new agent with a token in `api.tokens[username]`, present and with capacity as asked."""
    r = api.post(
        "/api/v1/users",
        json={
            "username": username,
            "role": "agent",
            "display_name": f"{username.title()} Example",
            "teams": teams,
        },
    )
    assert r.status_code == 201, r.text
    agent_id: int = r.json()["id"]
    token = api.post("/api/v1/tokens", json={"username": username, "name": "t"}).json()["token"]
    api.tokens[username] = token
    if capacity is not None:
        put = api.request(
            "PUT",
            f"/api/v1/users/{agent_id}/capacity",
            json={"capacity": capacity},
            as_="supervisor",
        )
        assert put.status_code == 200, put.text
    if presence is not None:
        said = api.post("/api/v1/me/presence", json={"presence": presence}, as_=username)
        assert said.status_code == 200, said.text
    return agent_id


def message(
    api: Api, author: str, *, minutes_ago: float = 0, text: str = "@brand help please"
) -> int:
    """A customer post arriving now (written `minutes_ago`); returns its conversation's id."""
    at = api.desk.clock.now() - timedelta(minutes=minutes_ago)
    r = api.post(
        "/api/v1/messages",
        json={
            "channel_id": api.channel_id,
            "external_id": f"m-{author}-{at.timestamp()}",
            "text": text,
            "created_at": at.isoformat(),
            "author": {"external_id": author, "handle": f"@{author}", "name": author.title()},
        },
    )
    assert r.status_code == 201, r.text
    cid: int = r.json()["conversation_id"]
    return cid


def place(api: Api, cid: int, team_id: int | None, assignee_id: int | None = None) -> None:
    r = api.post(
        f"/api/v1/conversations/{cid}/assign",
        json={"team_id": team_id, "assignee_id": assignee_id},
        as_="supervisor",
    )
    assert r.status_code == 200, r.text


def summary(api: Api, cid: int) -> dict[str, Any]:
    r = api.get(f"/api/v1/conversations/{cid}")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()["conversation"]
    return found


def assignee(api: Api, cid: int) -> int | None:
    who = summary(api, cid)["assignee"]
    return None if who is None else int(who["id"])


def events(api: Api, kind: str) -> list[Any]:
    e = t.events.c
    with api.desk.engine.connect() as conn:
        return list(conn.execute(select(t.events).where(e.type == kind).order_by(e.id)))


def agents(api: Api) -> dict[str, dict[str, Any]]:
    r = api.get("/api/v1/routing/agents", as_="agent")
    assert r.status_code == 200, r.text
    return {a["username"]: a for a in r.json()}


def live_playbook(api: Api, source: str) -> None:
    """Triage with the fake classifier and this playbook live."""
    api.desk.classifier_override = FakeClassifier()
    saved = api.post(
        "/api/v1/playbooks", json={"source": source, "comment": "test"}, as_="supervisor"
    )
    assert saved.status_code == 201, saved.text


def work(api: Api) -> None:
    for job in ("triaged", "playbook"):
        JOBS[job](api.desk)


def take(api: Api, who: str) -> int | None:
    r = api.post("/api/v1/queue:take-next", as_=who)
    assert r.status_code in (200, 204), r.text
    if r.status_code == 204:
        assert r.content == b""
        return None
    taken: int = r.json()["id"]
    return taken


# -- team configuration -----------------------------------------------------------------------


@pytest.fixture
def configured(api: Api) -> Api:
    """A calendar and an SLA policy teams can name."""
    cal = api.request(
        "PUT",
        "/api/v1/calendars",
        json={"name": "berlin", "timezone": "Europe/Berlin", "weekly": {"mon-fri": "09:00-17:00"}},
        as_="supervisor",
    )
    assert cal.status_code == 200, cal.text
    pol = api.request(
        "PUT",
        "/api/v1/sla-policies",
        json={"name": "care", "targets": [{"first_response": 60}]},
        as_="supervisor",
    )
    assert pol.status_code == 200, pol.text
    return api


class TestTeamConfiguration:
    def test_round_trip(self, configured: Api) -> None:
        api = configured
        team_id = team(api, "Care")
        fresh = {t["name"]: t for t in api.get("/api/v1/routing/teams", as_="agent").json()}
        assert fresh["Care"] == {
            "id": team_id,
            "name": "Care",
            "skills": {},
            "assignment_mode": "round_robin",
            "calendar": None,
            "sla_policy": None,
        }
        r = api.request(
            "PATCH",
            f"/api/v1/teams/{team_id}",
            json={
                "skills": {"languages": ["de", "EN", "de", " "], "platforms": ["X"]},
                "assignment_mode": "least_loaded",
                "calendar": "berlin",
                "sla_policy": "care",
            },
            as_="supervisor",
        )
        assert r.status_code == 200, r.text
        expected = {
            "id": team_id,
            "name": "Care",
            "skills": {"languages": ["de", "en"], "platforms": ["x"], "intents": []},
            "assignment_mode": "least_loaded",
            "calendar": "berlin",
            "sla_policy": "care",
        }
        assert r.json() == expected
        listed = api.get("/api/v1/routing/teams", as_="agent").json()
        assert [t for t in listed if t["id"] == team_id] == [expected]
        # A field left out stays; "" clears the calendar.
        cleared = api.request(
            "PATCH", f"/api/v1/teams/{team_id}", json={"calendar": ""}, as_="supervisor"
        ).json()
        assert (cleared["calendar"], cleared["sla_policy"]) == (None, "care")
        assert cleared["assignment_mode"] == "least_loaded"

    @pytest.mark.parametrize(
        ("body", "says"),
        [
            ({"assignment_mode": "random"}, "assignment_mode"),
            ({"skills": {"moods": ["angry"]}}, "unknown skill kinds ['moods']"),
            ({"skills": {"platforms": ["x", "twitter!"]}}, "'twitter!' is not a platform name"),
            ({"calendar": "nowhere"}, "no calendar named 'nowhere'"),
            ({"sla_policy": "gold"}, "no SLA policy named 'gold'"),
            # A valid change beside an invalid one is not half applied.
            ({"assignment_mode": "manual", "calendar": "nowhere"}, "no calendar named"),
        ],
    )
    def test_refused_changes_change_nothing(
        self, configured: Api, body: dict[str, Any], says: str
    ) -> None:
        api = configured
        team_id = team(api, "Care")
        before = api.snapshot()
        r = api.request("PATCH", f"/api/v1/teams/{team_id}", json=body, as_="supervisor")
        assert r.status_code == 422, r.text
        assert says in r.text
        assert api.snapshot() == before

    def test_agents_read_supervisors_change(self, configured: Api) -> None:
        api = configured
        team_id = team(api, "Care")
        assert api.get("/api/v1/routing/teams", as_="agent").status_code == 200
        before = api.snapshot()
        r = api.request(
            "PATCH", f"/api/v1/teams/{team_id}", json={"assignment_mode": "manual"}, as_="agent"
        )
        assert r.status_code == 403
        assert api.snapshot() == before
        missing = api.request(
            "PATCH", "/api/v1/teams/9999", json={"assignment_mode": "manual"}, as_="supervisor"
        )
        assert missing.status_code == 404


# -- capacity and presence --------------------------------------------------------------------


class TestCapacityAndPresence:
    def test_capacity_is_set_and_read_back(self, api: Api) -> None:
        team(api, "Care")
        nia = user(api, "nia", ["Care"], presence=None)
        assert agents(api)["nia"]["capacity"] == {}
        r = api.request(
            "PUT",
            f"/api/v1/users/{nia}/capacity",
            json={"capacity": {"x": 5, "email": 0, "*": 3}},
            as_="supervisor",
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"x": 5, "email": 0, "*": 3}
        assert agents(api)["nia"]["capacity"] == {"x": 5, "email": 0, "*": 3}

    @pytest.mark.parametrize(
        ("capacity", "status"),
        [
            ({"x": -1}, 422),
            ({"x": 1001}, 422),
            ({"x": "five"}, 422),
            ({"x": 2.5}, 422),
            ({"Not A Platform": 3}, 422),
            ({"": 3}, 422),
        ],
    )
    def test_bad_capacity_changes_nothing(
        self, api: Api, capacity: dict[str, Any], status: int
    ) -> None:
        nia = user(api, "nia", [], presence=None)
        before = api.snapshot()
        r = api.request(
            "PUT", f"/api/v1/users/{nia}/capacity", json={"capacity": capacity}, as_="supervisor"
        )
        assert r.status_code == status, r.text
        assert api.snapshot() == before

    def test_the_agent_list_costs_the_same_for_any_number_of_agents(self, api: Api) -> None:
        care = team(api, "Care")

        def statements() -> int:
            seen: list[str] = []

            def record(*args: Any) -> None:
                if not args[2].startswith("BEGIN"):
                    seen.append(args[2])

            event.listen(api.desk.engine, "before_cursor_execute", record)
            try:
                assert len(agents(api)) >= 3
            finally:
                event.remove(api.desk.engine, "before_cursor_execute", record)
            return len(seen)

        user(api, "ann", ["Care"])
        place(api, message(api, "c0"), care, None)
        few = statements()
        for i in range(6):
            agent_id = user(api, f"agent{i}", ["Care"])
            place(api, message(api, f"c{i + 1}"), care, agent_id)
        assert statements() == few
        listed = agents(api)
        assert listed["agent0"]["team_ids"] == [care]
        assert listed["agent0"]["open_by_platform"] == {"x": 1}

    def test_capacity_is_for_supervisors(self, api: Api) -> None:
        nia = user(api, "nia", [], presence=None)
        body = {"capacity": {"*": 50}}
        assert (
            api.request("PUT", f"/api/v1/users/{nia}/capacity", json=body, as_="nia").status_code
            == 403
        )
        missing = api.request("PUT", "/api/v1/users/9999/capacity", json=body, as_="supervisor")
        assert missing.status_code == 404

    def test_presence_is_read_back(self, api: Api) -> None:
        user(api, "nia", [], presence=None)
        assert agents(api)["nia"]["presence"] == "offline"
        for presence in ("online", "away", "offline"):
            r = api.post("/api/v1/me/presence", json={"presence": presence}, as_="nia")
            assert r.json() == {"presence": presence, "reassigned": 0}
            assert agents(api)["nia"]["presence"] == presence
        assert agents(api)["nia"]["presence_at"] == "2026-03-02T09:00:00Z"
        bad = api.post("/api/v1/me/presence", json={"presence": "busy"}, as_="nia")
        assert bad.status_code == 422

    def test_going_offline_hands_over_by_round_robin_within_capacity(self, api: Api) -> None:
        care = team(api, "Care", "round_robin")
        ann = user(api, "ann", ["Care"])
        ben = user(api, "ben", ["Care"], capacity={"*": 1})
        cat = user(api, "cat", ["Care"], capacity={"*": 2})
        user(api, "dan", ["Care"], presence="away")
        user(api, "eve", ["Care"], presence="offline")
        held = [message(api, f"c{i}", minutes_ago=40 - i) for i in range(4)]
        for cid in held:
            place(api, cid, care, ann)
        assigned_before = len(events(api, "conversation_assigned"))
        r = api.post("/api/v1/me/presence", json={"presence": "offline"}, as_="ann")
        assert r.status_code == 200, r.text
        assert r.json() == {"presence": "offline", "reassigned": 4}
        # Most urgent (waiting longest) first: ben, cat in turn, cat again (ben is full), and
        # the last back to the team queue; nobody away or offline gets any.
        assert [assignee(api, cid) for cid in held] == [ben, cat, cat, None]
        assert all(summary(api, cid)["team"]["id"] == care for cid in held)
        moved = events(api, "conversation_assigned")[assigned_before:]
        assert sorted(e.conversation_id for e in moved) == sorted(held)
        assert {(e.data["assignee_before"], e.data["team_after"]) for e in moved} == {(ann, care)}
        load = agents(api)
        assert (load["ben"]["open_by_platform"], load["cat"]["open_by_platform"]) == (
            {"x": 1},
            {"x": 2},
        )
        assert load["ann"]["open_by_platform"] == {}

    def test_going_offline_hands_over_to_the_least_loaded(self, api: Api) -> None:
        care = team(api, "Care", "least_loaded")
        ann = user(api, "ann", ["Care"])
        ben = user(api, "ben", ["Care"])
        cat = user(api, "cat", ["Care"])
        for i in range(3):
            place(api, message(api, f"b{i}", minutes_ago=50), care, ben)
        held = [message(api, f"a{i}", minutes_ago=30 - i) for i in range(2)]
        for cid in held:
            place(api, cid, care, ann)
        r = api.post("/api/v1/me/presence", json={"presence": "offline"}, as_="ann")
        assert r.json()["reassigned"] == 2
        assert [assignee(api, cid) for cid in held] == [cat, cat]
        assert ben not in {assignee(api, cid) for cid in held}

    def test_nobody_to_take_over_puts_them_back_in_the_team_queue(self, api: Api) -> None:
        care = team(api, "Care")
        ann = user(api, "ann", ["Care"])
        user(api, "ben", ["Care"], presence="away")
        held = message(api, "c1")
        loose = message(api, "c2")  # held by ann but of no team
        place(api, held, care, ann)
        place(api, loose, None, ann)
        assert api.post("/api/v1/me/presence", json={"presence": "offline"}, as_="ann").json() == {
            "presence": "offline",
            "reassigned": 2,
        }
        assert (assignee(api, held), summary(api, held)["team"]["id"]) == (None, care)
        assert (assignee(api, loose), summary(api, loose)["team"]) == (None, None)
        queue = api.get("/api/v1/conversations", params={"assignee": "none"}).json()["items"]
        assert {c["id"] for c in queue} == {held, loose}

    def test_away_keeps_what_it_holds(self, api: Api) -> None:
        care = team(api, "Care")
        ann = user(api, "ann", ["Care"])
        user(api, "ben", ["Care"])
        cid = message(api, "c1")
        place(api, cid, care, ann)
        r = api.post("/api/v1/me/presence", json={"presence": "away"}, as_="ann")
        assert r.json() == {"presence": "away", "reassigned": 0}
        assert assignee(api, cid) == ann


# -- take next --------------------------------------------------------------------------------


class TestTakeNext:
    def test_most_urgent_first_and_assigned_to_the_caller(self, api: Api) -> None:
        care = team(api, "Care", "manual")
        ann = user(api, "ann", ["Care"])
        # Desk targets: 60 minutes from the customer's first message.
        later = message(api, "later", minutes_ago=5)  # due in 55 min
        breached = message(api, "breached", minutes_ago=90)  # due 30 min ago
        soon = message(api, "soon", minutes_ago=50)  # due in 10 min
        for cid in (later, breached, soon):
            place(api, cid, care)
        order = [take(api, "ann") for _ in range(3)]
        assert order == [breached, soon, later]
        assert {assignee(api, cid) for cid in (later, breached, soon)} == {ann}
        assert take(api, "ann") is None
        taken = [e for e in events(api, "conversation_assigned") if e.actor_agent_id == ann]
        assert [e.conversation_id for e in taken] == order

    def test_among_the_late_the_highest_priority_first(self, api: Api) -> None:
        team(api, "Care", "manual")
        ann = user(api, "ann", ["Care"])
        live_playbook(
            api,
            """
version: 1
rules:
  - name: urgent
    when: {keywords: [urgent]}
    then: [{route: Care}, {priority: 90}]
    stop: true
  - name: the rest
    when: {platform: x}
    then: [{route: Care}, {priority: 20}]
""",
        )
        oldest = message(api, "oldest", minutes_ago=180, text="@brand where is it")
        urgent_late = message(api, "urgent1", minutes_ago=70, text="@brand urgent refund")
        running = message(api, "running", minutes_ago=30, text="@brand where is it")
        urgent_running = message(api, "urgent2", minutes_ago=5, text="@brand urgent please")
        work(api)
        priorities = {cid: summary(api, cid)["priority"] for cid in (oldest, urgent_late)}
        assert priorities == {oldest: 20, urgent_late: 90}
        order = [take(api, "ann") for _ in range(4)]
        # Both late ones first, the more important before the more overdue; then by due time
        # (a running SLA carries the priority in its target), not by priority.
        assert order == [urgent_late, oldest, running, urgent_running]
        assert all(assignee(api, cid) == ann for cid in order if cid is not None)

    def test_the_answer_is_the_conversation(self, api: Api) -> None:
        care = team(api, "Care", "manual")
        ann = user(api, "ann", ["Care"])
        cid = message(api, "c1")
        place(api, cid, care)
        r = api.post("/api/v1/queue:take-next", as_="ann")
        assert r.status_code == 200
        body = r.json()
        assert (body["id"], body["assignee"]["id"], body["team"]["id"]) == (cid, ann, care)
        assert body["sla"]["state"] is None or body["sla"]["state"] == "ok"

    def test_two_agents_never_get_the_same_one(self, api: Api) -> None:
        care = team(api, "Care", "manual")
        user(api, "ann", ["Care"])
        user(api, "ben", ["Care"])
        cids = [message(api, f"c{i}", minutes_ago=10 - i) for i in range(2)]
        for cid in cids:
            place(api, cid, care)
        first, second = take(api, "ann"), take(api, "ben")
        assert {first, second} == set(cids)
        assert take(api, "ann") is None
        assert take(api, "ben") is None

    @staticmethod
    def take_at_once(api: Api, names: list[str]) -> dict[str, int | None]:
        got: dict[str, int | None] = {}
        start = threading.Barrier(len(names))

        def worker(name: str) -> None:
            start.wait()
            got[name] = take(api, name)

        threads = [threading.Thread(target=worker, args=(n,)) for n in names]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return got

    def test_agents_taking_at_the_same_time_never_get_the_same_one(self, api: Api) -> None:
        care = team(api, "Care", "manual")
        names = [f"agent{i}" for i in range(6)]
        ids = {name: user(api, name, ["Care"]) for name in names}
        cids = [message(api, f"c{i}", minutes_ago=30 - i) for i in range(4)]
        for cid in cids:
            place(api, cid, care)
        got = self.take_at_once(api, names)
        taken = [cid for cid in got.values() if cid is not None]
        assert len(taken) == len(set(taken))
        for name, taken_id in got.items():
            if taken_id is not None:
                assert assignee(api, taken_id) == ids[name]
        agent_ids = set(ids.values())
        claims = [
            e.conversation_id
            for e in events(api, "conversation_assigned")
            if e.actor_agent_id in agent_ids
        ]
        assert sorted(claims) == sorted(taken)

    def test_nobody_is_turned_away_while_work_waits(self, api: Api) -> None:
        care = team(api, "Care", "manual")
        names = [f"agent{i}" for i in range(6)]
        for name in names:
            user(api, name, ["Care"])
        cids = [message(api, f"c{i}", minutes_ago=30 - i) for i in range(4)]
        for cid in cids:
            place(api, cid, care)
        got = self.take_at_once(api, names)
        assert sorted(cid for cid in got.values() if cid is not None) == sorted(cids)

    def test_offline_or_full_agents_get_nothing(self, api: Api) -> None:
        care = team(api, "Care", "manual")
        ann = user(api, "ann", ["Care"], presence="offline")
        user(api, "ben", ["Care"], capacity={"*": 1})
        user(api, "cat", ["Care"], capacity={"x": 0, "*": 5})
        first, second = message(api, "c1", minutes_ago=5), message(api, "c2")
        place(api, first, care)
        place(api, second, care)
        assert take(api, "ann") is None  # offline
        assert take(api, "ben") == first
        assert take(api, "ben") is None  # at capacity now
        assert take(api, "cat") is None  # takes no X
        presence = "/api/v1/me/presence"
        assert api.post(presence, json={"presence": "away"}, as_="ann").status_code == 200
        assert take(api, "ann") is None
        assert api.post(presence, json={"presence": "online"}, as_="ann").status_code == 200
        assert take(api, "ann") == second
        assert assignee(api, second) == ann

    def test_other_teams_conversations_are_not_taken(self, api: Api) -> None:
        team(api, "Care", "manual")
        billing = team(api, "Billing", "manual")
        user(api, "ann", ["Care"])
        cid = message(api, "c1")
        place(api, cid, billing)
        before = api.snapshot()
        assert take(api, "ann") is None
        assert api.snapshot() == before
        assert assignee(api, cid) is None

    def test_assigned_or_closed_conversations_are_not_taken(self, api: Api) -> None:
        care = team(api, "Care", "manual")
        user(api, "ann", ["Care"])
        ben = user(api, "ben", ["Care"])
        mine = message(api, "c1")
        place(api, mine, care, ben)
        done = message(api, "c2")
        place(api, done, care)
        assert api.post(f"/api/v1/conversations/{done}/close", json={}).status_code == 200
        assert take(api, "ann") is None


# -- who is here --------------------------------------------------------------------------------


class TestActivity:
    def test_viewing_and_typing_are_seen_by_the_other_and_expire(self, api: Api) -> None:
        ann = user(api, "ann", [])
        ben = user(api, "ben", [])
        cid = message(api, "c1")
        url = f"/api/v1/conversations/{cid}/activity"
        assert api.post(url, json={"kind": "viewing"}, as_="ann").json() == []
        clock(api).advance(seconds=5)
        seen_by_ben = api.post(url, json={"kind": "typing"}, as_="ben").json()
        assert seen_by_ben == [{"agent_id": ann, "kind": "viewing", "at": "2026-03-02T09:00:00Z"}]
        assert api.get(url, as_="ann").json() == [
            {"agent_id": ben, "kind": "typing", "at": "2026-03-02T09:00:05Z"}
        ]
        assert api.get(url, as_="ben").json() == seen_by_ben
        clock(api).advance(seconds=26)  # ann's beat is 31 s old, ben's 26 s
        assert api.get(url, as_="ben").json() == []
        assert [a["agent_id"] for a in api.get(url, as_="ann").json()] == [ben]
        clock(api).advance(seconds=5)
        assert api.get(url, as_="ann").json() == []

    def test_unknown_conversation_and_kind(self, api: Api) -> None:
        for r in (
            api.post("/api/v1/conversations/9999/activity", json={"kind": "viewing"}),
            api.get("/api/v1/conversations/9999/activity"),
        ):
            assert r.status_code == 404, r.text
            assert r.json()["detail"] == "conversation 9999 does not exist"
        cid = message(api, "c1")
        bad = api.post(f"/api/v1/conversations/{cid}/activity", json={"kind": "sleeping"})
        assert bad.status_code == 422


# -- collisions ---------------------------------------------------------------------------------


class TestCollisions:
    @pytest.fixture
    def pair(self, api: Api) -> tuple[Api, int]:
        user(api, "ann", [])
        user(api, "ben", [])
        return api, message(api, "c1")

    def reply(self, api: Api, cid: int, who: str, text: str, **body: Any) -> Any:
        return api.post(
            f"/api/v1/conversations/{cid}/reply",
            json={"text": text, "status_after": "open", **body},
            as_=who,
        )

    def test_someone_elses_newer_reply_is_a_conflict(self, pair: tuple[Api, int]) -> None:
        api, cid = pair
        seen = api.desk.clock.now().isoformat()  # ann opens the conversation
        clock(api).advance(minutes=1)
        assert self.reply(api, cid, "ben", "On it!").status_code == 201
        clock(api).advance(minutes=1)
        before = api.snapshot()
        r = self.reply(api, cid, "ann", "Hello from Ann", seen_up_to=seen)
        assert r.status_code == 409, r.text
        assert r.json()["detail"].startswith("Ben Example replied at 2026-03-02T09:01:00")
        assert api.snapshot() == before
        forced = self.reply(api, cid, "ann", "Hello from Ann", seen_up_to=seen, force=True)
        assert forced.status_code == 201, forced.text
        texts = [m["text"] for m in api.get(f"/api/v1/conversations/{cid}").json()["messages"]]
        assert texts[-2:] == ["On it!", "Hello from Ann"]

    def test_a_reply_already_seen_is_no_conflict(self, pair: tuple[Api, int]) -> None:
        api, cid = pair
        clock(api).advance(minutes=1)
        assert self.reply(api, cid, "ben", "On it!").status_code == 201
        seen = api.desk.clock.now().isoformat()  # ann saw ben's reply
        clock(api).advance(minutes=1)
        assert self.reply(api, cid, "ann", "And more", seen_up_to=seen).status_code == 201

    def test_my_own_earlier_reply_never_collides(self, pair: tuple[Api, int]) -> None:
        api, cid = pair
        seen = api.desk.clock.now().isoformat()
        clock(api).advance(minutes=1)
        assert self.reply(api, cid, "ann", "First part").status_code == 201
        clock(api).advance(minutes=1)
        r = self.reply(api, cid, "ann", "Second part", seen_up_to=seen)
        assert r.status_code == 201, r.text

    def test_a_time_without_zone_is_refused_not_a_crash(self, pair: tuple[Api, int]) -> None:
        api, cid = pair
        before = api.snapshot()
        beat = api.post(
            f"/api/v1/conversations/{cid}/activity",
            json={"kind": "viewing", "seen_up_to": "2026-03-02T09:00:00"},
            as_="ann",
        )
        assert beat.status_code == 422, beat.text
        assert api.snapshot() == before

    def test_a_reply_with_a_time_without_zone_is_refused(self, pair: tuple[Api, int]) -> None:
        api, cid = pair
        clock(api).advance(minutes=1)
        assert self.reply(api, cid, "ben", "On it!").status_code == 201
        r = self.reply(api, cid, "ann", "Hi", seen_up_to="2026-03-02T09:00:00")
        assert r.status_code == 422

    def test_a_reply_made_outside_the_desk_collides_too(self, pair: tuple[Api, int]) -> None:
        api, cid = pair
        seen = api.desk.clock.now().isoformat()
        clock(api).advance(minutes=1)
        conversation = api.get(f"/api/v1/conversations/{cid}").json()
        native = api.post(
            "/api/v1/messages",
            json={
                "channel_id": api.channel_id,
                "external_id": "native-1",
                "text": "answered in the X app",
                "direction": "outbound",
                "in_reply_to": conversation["messages"][0]["external_id"],
                "created_at": api.desk.clock.now().isoformat(),
            },
        )
        assert native.status_code == 201, native.text
        r = self.reply(api, cid, "ann", "Hi", seen_up_to=seen)
        assert r.status_code == 409
        assert r.json()["detail"].startswith("someone outside the desk replied")


class TestPrivateOnly:
    def test_a_conversation_the_playbook_made_private_takes_no_public_reply(self, api: Api) -> None:
        user(api, "ann", [])
        live_playbook(
            api,
            """
version: 1
rules:
  - name: account data
    when: {pii: true}
    then: [{private: required}]
""",
        )
        cid = message(api, "c1", text="@brand my card 4111 1111 1111 1111 was charged twice")
        work(api)
        assert summary(api, cid)["private_mode"] == "required"
        before = api.snapshot()
        public = api.post(
            f"/api/v1/conversations/{cid}/reply", json={"text": "Let us check"}, as_="ann"
        )
        assert public.status_code == 422, public.text
        assert "privately" in public.json()["detail"]
        assert api.snapshot() == before
        private = api.post(
            f"/api/v1/conversations/{cid}/reply",
            json={"text": "Let us check", "visibility": "private"},
            as_="ann",
        )
        assert private.status_code == 201, private.text
        assert private.json()["visibility"] == "private"
