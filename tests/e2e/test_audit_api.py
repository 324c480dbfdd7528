"""The audit log over real HTTP, on SQLite and PostgreSQL: every change people make is listed for
admins with who, what, when and the values before and after; no one else may read it."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Api

POLICY = {"name": "care", "targets": [{"first_response": 60}], "warn_before_minutes": 10}


def audit(api: Api, as_: str = "admin", **params: Any) -> Any:
    r = api.get("/api/v1/audit", params=params, as_=as_)
    assert r.status_code == 200, r.text
    return r.json()


def settings_changes(api: Api) -> list[tuple[str, str, str, str | None]]:
    """(subject, name, change, actor) of each settings change, oldest first."""
    items = audit(api, type="settings_changed", limit=500)["items"]
    return [
        (i["data"]["subject"], i["data"]["subject_id"], i["data"]["change"], i["actor"])
        for i in reversed(items)
    ]


def me(api: Api, as_: str) -> int:
    found: int = api.get("/api/v1/me", as_=as_).json()["id"]
    return found


class TestWhatIsKept:
    def test_set_up_changes_keep_before_and_after(self, api: Api) -> None:
        sup = "supervisor"
        assert api.post("/api/v1/templates", json={"name": "ack", "body": "Hi!"}, as_=sup)
        r = api.request("PUT", "/api/v1/templates/ack", json={"body": "Hello!"}, as_=sup)
        assert r.status_code == 200, r.text
        assert api.request("DELETE", "/api/v1/templates/ack", as_=sup).status_code == 204
        assert api.request("PUT", "/api/v1/sla-policies", json=POLICY, as_=sup).status_code == 200
        changed = {**POLICY, "warn_before_minutes": 20}
        assert api.request("PUT", "/api/v1/sla-policies", json=changed, as_=sup).status_code == 200
        team = api.post("/api/v1/teams", json={"name": "Care"}).json()["id"]
        r = api.request(
            "PATCH", f"/api/v1/teams/{team}", json={"assignment_mode": "least_loaded"}, as_=sup
        )
        assert r.status_code == 200, r.text
        agent_id = me(api, "agent")
        r = api.request(
            "PUT", f"/api/v1/users/{agent_id}/capacity", json={"capacity": {"x": 3}}, as_=sup
        )
        assert r.status_code == 200, r.text
        assert api.post("/api/v1/me/presence", json={"presence": "away"}, as_="agent")

        assert settings_changes(api) == [
            ("template", "ack", "created", sup),
            ("template", "ack", "updated", sup),
            ("template", "ack", "deleted", sup),
            ("sla_policy", "care", "created", sup),
            ("sla_policy", "care", "updated", sup),
            ("team_routing", str(team), "updated", sup),
            ("capacity", str(agent_id), "updated", sup),
            ("presence", str(agent_id), "updated", "agent"),
        ]
        items = {
            (i["data"]["subject"], i["data"]["change"]): i
            for i in audit(api, type="settings_changed")["items"]
        }
        update = items["template", "updated"]["data"]
        assert (update["before"], update["after"]) == ({"body": "Hi!"}, {"body": "Hello!"})
        assert items["template", "deleted"]["data"]["after"] is None
        policy = items["sla_policy", "updated"]["data"]
        assert (
            policy["before"]["warn_before_minutes"],
            policy["after"]["warn_before_minutes"],
        ) == (
            10,
            20,
        )
        assert "created_at" not in policy["after"]
        routing = items["team_routing", "updated"]["data"]
        assert routing["before"]["assignment_mode"] == "round_robin"
        assert routing["after"]["assignment_mode"] == "least_loaded"
        assert items["capacity", "updated"]["data"]["after"] == {"capacity": {"x": 3}}
        presence = items["presence", "updated"]
        assert presence["actor_id"] == agent_id
        assert presence["data"]["after"] == {"presence": "away", "handed_on": 0}

    def test_admin_actions_and_agent_work_are_listed_with_their_actor(self, api: Api) -> None:
        r = api.post("/api/v1/users", json={"username": "nia", "role": "agent"})
        assert r.status_code == 201, r.text
        token = api.post("/api/v1/tokens", json={"username": "nia"}).json()
        assert api.request("DELETE", f"/api/v1/tokens/{token['id']}").status_code in (200, 204)
        r = api.post(
            "/api/v1/messages",
            json={
                "channel_id": api.channel_id,
                "external_id": "m1",
                "text": "@brand my parcel is lost",
                "author": {"external_id": "ann", "handle": "@ann"},
            },
        )
        cid = r.json()["conversation_id"]
        r = api.post(f"/api/v1/conversations/{cid}/notes", json={"text": "call her"}, as_="agent")
        assert r.status_code == 201, r.text

        mine = audit(api)["items"]
        kinds = [(i["type"], i["actor"]) for i in reversed(mine)]
        assert kinds[-4:] == [
            ("agent_created", "admin"),
            ("token_created", "admin"),
            ("token_revoked", "admin"),
            ("note_added", "agent"),
        ]
        assert all(i["actor"] is not None for i in mine)  # intake is the system's, not listed
        everything = audit(api, include_system="true")["items"]
        assert "message_received" in {i["type"] for i in everything}
        note = audit(api, conversation_id=cid)["items"]
        assert [i["type"] for i in note] == ["note_added"]
        assert [i["type"] for i in audit(api, actor_id=me(api, "agent"))["items"]] == ["note_added"]


class TestReading:
    def test_pages_newest_first(self, api: Api) -> None:
        for n in range(5):
            assert api.post("/api/v1/teams", json={"name": f"team {n}"}).status_code == 201
        first = audit(api, type="team_created", limit=2)
        second = audit(api, type="team_created", limit=2, before_id=first["next_before_id"])
        last = audit(api, type="team_created", limit=2, before_id=second["next_before_id"])
        names = [i["data"]["team_name"] for p in (first, second, last) for i in p["items"]]
        assert names == [f"team {n}" for n in (4, 3, 2, 1, 0)]
        assert last["next_before_id"] is None

    def test_only_admins_read_it(self, api: Api) -> None:
        for role in ("agent", "supervisor"):
            r = api.get("/api/v1/audit", as_=role)
            assert r.status_code == 403
            assert "admin" in r.json()["detail"]
        assert api.get("/api/v1/audit", as_=None).status_code == 401

    def test_bad_filters_say_which(self, api: Api) -> None:
        for params, field in (
            ({"type": "no_such_event"}, "type"),
            ({"since": "2026-03-02T09:00:00"}, "since"),
            ({"since": "2026-03-03T00:00:00Z", "until": "2026-03-02T00:00:00Z"}, "since"),
        ):
            r = api.get("/api/v1/audit", params=params)
            assert r.status_code == 422, r.text
            assert r.json()["field"] == field, r.json()
        r = api.get("/api/v1/audit", params={"limit": 0})
        assert r.status_code == 422
