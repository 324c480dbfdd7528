"""The queue and agent actions over real HTTP: what an agent's client sees and may do."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Api


def ingest(api: Api, *items: dict[str, Any]) -> list[dict[str, Any]]:
    r = api.post("/api/v1/messages:batch", json={"messages": list(items)})
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def post(api: Api, external_id: str, text: str = "@brand help", **fields: Any) -> dict[str, Any]:
    body = {
        "channel_id": api.channel_id,
        "external_id": external_id,
        "text": text,
        "created_at": "2026-03-02T08:00:00Z",
        "author": {"external_id": fields.pop("author", "u-1"), "handle": "@ann"},
    }
    body.update(fields)
    return body


@pytest.fixture
def cid(api: Api) -> int:
    conversation_id: int = ingest(api, post(api, "t1"))[0]["conversation_id"]
    return conversation_id


class TestQueue:
    def test_open_queue_pages_with_cursors(self, api: Api) -> None:
        ingest(api, *(post(api, f"t{i}", author=f"u{i}") for i in range(7)))
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 3, "sort": "age"}
            if cursor:
                params["cursor"] = cursor
            page = api.get("/api/v1/conversations", params=params).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 7

    def test_filters_combine(self, api: Api, cid: int) -> None:
        ingest(api, post(api, "t2", "refund please", author="u2"))
        api.post(f"/api/v1/conversations/{cid}/tags", json={"add": ["vip"]})
        by_tag = api.get("/api/v1/conversations", params={"tag": "VIP"}).json()["items"]
        assert [c["id"] for c in by_tag] == [cid]
        by_text = api.get("/api/v1/conversations", params={"q": "refund"}).json()["items"]
        assert [c["preview"] for c in by_text] == ["refund please"]
        mine = api.get("/api/v1/conversations", params={"assignee": "me"}).json()["items"]
        assert mine == []
        nobody = api.get("/api/v1/conversations", params={"assignee": "none", "platform": "x"})
        assert len(nobody.json()["items"]) == 2

    @pytest.mark.parametrize(
        ("params", "says"),
        [
            ({"status": "opn"}, "status must be"),
            ({"cursor": "garbage"}, "cursor is not valid"),
            ({"sort": "random"}, "sort"),
            ({"limit": 0}, "limit"),
            ({"assignee": "bob"}, "assignee must be"),
            ({"sentiment": "angry"}, "sentiment must be"),
            ({"q": "!!!"}, "no words"),
        ],
    )
    def test_bad_queue_parameters_are_explained(
        self, api: Api, params: dict[str, Any], says: str
    ) -> None:
        r = api.get("/api/v1/conversations", params=params)
        assert r.status_code == 422
        assert says in r.text

    def test_cursor_of_another_sort_is_refused(self, api: Api) -> None:
        ingest(api, *(post(api, f"t{i}", author=f"u{i}") for i in range(3)))
        cursor = api.get("/api/v1/conversations", params={"limit": 1}).json()["next_cursor"]
        r = api.get(
            "/api/v1/conversations", params={"limit": 1, "sort": "sla_due", "cursor": cursor}
        )
        assert r.status_code == 422


class TestConversation:
    def test_view_has_messages_and_customer_record(self, api: Api, cid: int) -> None:
        ingest(api, post(api, "t1-reply", "hello?", in_reply_to="t1"))
        view = api.get(f"/api/v1/conversations/{cid}").json()
        assert [m["text"] for m in view["messages"]] == ["@brand help", "hello?"]
        assert view["messages"][0]["author"]["handle"] == "@ann"
        assert view["customer"]["identities"][0]["external_id"] == "u-1"
        assert view["conversation"]["message_count"] == 2

    def test_missing_conversation_is_404_problem(self, api: Api) -> None:
        r = api.get("/api/v1/conversations/999999")
        assert r.status_code == 404
        assert r.json()["detail"] == "conversation 999999 does not exist"

    def test_reply_is_queued_and_visible_on_the_message(self, api: Api, cid: int) -> None:
        r = api.post(
            f"/api/v1/conversations/{cid}/reply",
            json={"text": "We're on it!"},
            as_="agent",
            headers={"Idempotency-Key": "click-0001"},
        )
        assert r.status_code == 201, r.text
        reply = r.json()
        assert reply["delivery"]["state"] == "queued"
        assert reply["delivery"]["idempotency_key"] == "click-0001"
        assert reply["agent"]["name"] == "The agent"
        before = api.snapshot()
        again = api.post(
            f"/api/v1/conversations/{cid}/reply",
            json={"text": "We're on it!"},
            as_="agent",
            headers={"Idempotency-Key": "click-0001"},
        )
        assert again.status_code == 200
        assert again.json()["id"] == reply["id"]
        assert api.snapshot() == before
        view = api.get(f"/api/v1/conversations/{cid}").json()
        assert view["conversation"]["status"] == "pending"
        assert view["messages"][-1]["delivery"]["state"] == "queued"

    def test_too_long_reply_for_x_changes_nothing(self, api: Api, cid: int) -> None:
        before = api.snapshot()
        r = api.post(f"/api/v1/conversations/{cid}/reply", json={"text": "x" * 281})
        assert r.status_code == 422
        assert r.json()["detail"] == "the reply is 281 characters; X allows 280"
        assert api.snapshot() == before

    def test_note_assign_tag_snooze_close_reopen(self, api: Api, cid: int) -> None:
        note = api.post(f"/api/v1/conversations/{cid}/notes", json={"text": "VIP, be nice"})
        assert (note.status_code, note.json()["direction"]) == (201, "note")
        team = api.post("/api/v1/teams", json={"name": "Care"}).json()
        me = api.get("/api/v1/me", as_="agent").json()
        assigned = api.post(
            f"/api/v1/conversations/{cid}/assign",
            json={"assignee_id": me["id"], "team_id": team["id"]},
        ).json()
        assert (assigned["assignee"]["id"], assigned["team"]["name"]) == (me["id"], "Care")
        kept = api.post(f"/api/v1/conversations/{cid}/assign", json={"assignee_id": None}).json()
        assert (kept["assignee"], kept["team"]["id"]) == (None, team["id"])
        tagged = api.post(f"/api/v1/conversations/{cid}/tags", json={"add": ["Billing"]}).json()
        assert tagged["tags"] == ["billing"]
        snoozed = api.post(
            f"/api/v1/conversations/{cid}/snooze", json={"until": "2026-03-03T09:00:00Z"}
        ).json()
        assert (snoozed["status"], snoozed["snoozed_until"]) == ("snoozed", "2026-03-03T09:00:00Z")
        closed = api.post(f"/api/v1/conversations/{cid}/close", json={"reason": "resolved"}).json()
        assert (closed["status"], closed["close_reason"]) == ("closed", "resolved")
        again = api.post(f"/api/v1/conversations/{cid}/close", json={})
        assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
        reopened = api.post(f"/api/v1/conversations/{cid}/reopen").json()
        assert reopened["status"] == "open"

    @pytest.mark.parametrize(
        ("action", "body", "status"),
        [
            ("assign", {"assignee_id": 4242}, 422),
            ("assign", {}, 422),
            ("tags", {"add": ["no spaces"]}, 422),
            ("snooze", {"until": "2020-01-01T00:00:00Z"}, 422),
            ("snooze", {"until": "tomorrow"}, 422),
            ("reply", {"text": "   "}, 422),
            ("reply", {"text": "hi", "visibility": "secret"}, 422),
            ("notes", {"text": ""}, 422),
            ("reopen", None, 409),
        ],
    )
    def test_refused_actions_change_nothing(
        self, api: Api, cid: int, action: str, body: dict[str, Any] | None, status: int
    ) -> None:
        before = api.snapshot()
        r = api.post(f"/api/v1/conversations/{cid}/{action}", json=body)
        assert r.status_code == status, r.text
        assert r.json()["detail"]
        assert api.snapshot() == before


class TestAdministration:
    def test_channels_are_admin_only_and_never_show_secrets(self, api: Api) -> None:
        body = {
            "platform": "x",
            "name": "@brand_help",
            "settings": {"consumer_secret": "s3cr3t-value", "user_id": "42"},
        }
        assert api.post("/api/v1/channels", json=body, as_="supervisor").status_code == 403
        r = api.post("/api/v1/channels", json=body)
        assert r.status_code == 201
        assert r.json()["settings"] == {"consumer_secret": "********", "user_id": "42"}
        listed = api.get("/api/v1/channels")
        assert "s3cr3t-value" not in listed.text
        assert api.post("/api/v1/channels", json=body).status_code == 409
        bad = api.post("/api/v1/channels", json={"platform": "Not A Platform", "name": "x"})
        assert bad.status_code == 422

    def test_users_and_tokens(self, api: Api) -> None:
        created = api.post(
            "/api/v1/users",
            json={"username": "nia", "role": "agent", "password": "correct horse battery"},
        )
        assert created.status_code == 201
        assert "password" not in created.text
        assert api.post("/api/v1/tokens", json={"username": "nia"}, as_="agent").status_code == 403
        token = api.post("/api/v1/tokens", json={"username": "nia", "name": "ci"}).json()["token"]
        me = api.get("/api/v1/me", as_=None, headers={"Authorization": f"Bearer {token}"})
        assert me.json()["username"] == "nia"

    def test_openapi_describes_the_api(self, api: Api) -> None:
        spec = api.get("/openapi.json", as_=None).json()
        assert "/api/v1/messages:batch" in spec["paths"]
        assert "422" in spec["paths"]["/api/v1/messages"]["post"]["responses"]

    def test_health_and_metrics(self, api: Api) -> None:
        assert api.get("/healthz", as_=None).json() == {"status": "ok"}
        assert api.get("/readyz", as_=None).json()["status"] == "ok"
        metrics = api.get("/metrics", as_=None).text
        assert "socialdesk_http_requests_total" in metrics
