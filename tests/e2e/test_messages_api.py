"""POST /api/v1/messages and :batch over real HTTP: durable, idempotent, and strict with bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import Api


def message(api: Api, external_id: str = "t1", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel_id": api.channel_id,
        "external_id": external_id,
        "text": "@brand my parcel is lost",
        "created_at": "2026-03-02T08:55:00Z",
        "author": {"external_id": "u-1", "handle": "@ann", "followers": 1200, "verified": False},
    }
    body.update(fields)
    return body


class TestIngest:
    def test_message_is_stored_and_acknowledged_once(self, api: Api) -> None:
        r = api.post("/api/v1/messages", json=message(api))
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["created"] is True
        assert r.headers["location"] == f"/api/v1/conversations/{created['conversation_id']}"
        before = api.snapshot()
        again = api.post("/api/v1/messages", json=message(api, text="edited"))
        assert again.status_code == 200
        assert again.json() == {**created, "created": False}
        assert api.snapshot() == before

    def test_batch_of_a_thousand_in_one_transaction(self, api: Api) -> None:
        items = [message(api, f"t{i}", author={"external_id": f"u{i % 50}"}) for i in range(1000)]
        r = api.post("/api/v1/messages:batch", json={"messages": items})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["created"], body["duplicates"], body["new_conversations"]) == (1000, 0, 1000)
        redelivered = api.post("/api/v1/messages:batch", json={"messages": items[:10]})
        assert redelivered.json()["duplicates"] == 10

    def test_email_chat_and_calls_join_the_same_queue(self, api: Api) -> None:
        channels = {}
        for platform, name in [("email", "help@brand.example"), ("chat", "web"), ("phone", "line")]:
            r = api.post("/api/v1/channels", json={"platform": platform, "name": name})
            assert r.status_code == 201
            channels[platform] = r.json()["id"]
        items = [
            message(
                api,
                "<m1@ann.example>",
                channel_id=channels["email"],
                kind="email",
                subject="Refund for order 77",
                author={"external_id": "ann@ann.example"},
            ),
            message(
                api,
                "chat-9",
                channel_id=channels["chat"],
                kind="chat",
                text="Agent: hi\nVisitor: my card was charged twice",
                author={"external_id": "visitor-9", "email": "ann@ann.example"},
            ),
            message(
                api,
                "call-5",
                channel_id=channels["phone"],
                kind="call",
                text="Caller asked about roaming fees",
                author={"external_id": "+15550100"},
                meta={"duration_seconds": 312, "disposition": "answered"},
            ),
            message(api, "t-77"),
        ]
        assert api.post("/api/v1/messages:batch", json={"messages": items}).status_code == 200
        queue = api.get("/api/v1/conversations", params={"limit": 10}).json()["items"]
        assert sorted(c["platform"] for c in queue) == ["chat", "email", "phone", "x"]
        chat = next(c for c in queue if c["platform"] == "chat")
        view = api.get(f"/api/v1/conversations/{chat['id']}").json()
        assert {i["platform"] for i in view["customer"]["identities"]} == {"chat", "email"}
        assert [h["platform"] for h in view["customer"]["conversations"]] == ["email"]


def sent(api: Api, body: Any, *, raw: bytes | None = None, **kw: Any) -> tuple[int, dict[str, Any]]:
    content = raw if raw is not None else json.dumps(body).encode()
    headers = {"content-type": "application/json", **kw.pop("headers", {})}
    r = api.post(kw.pop("path", "/api/v1/messages"), content=content, headers=headers, **kw)
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    problem = r.json()
    assert problem["status"] == r.status_code
    assert problem["detail"]
    return r.status_code, problem


DEEP: Any = 1
for _ in range(30):
    DEEP = [DEEP]

BAD_SINGLE = [
    pytest.param(None, b'{"channel_id": 1, "text": ', 400, "not valid JSON", id="malformed-json"),
    pytest.param(
        None, b'{"channel_id": 1, "text": "\xff\xfe"}', 400, "not valid UTF-8", id="invalid-utf8"
    ),
    pytest.param({"external_id": "x"}, None, 422, "channel_id: Field required", id="missing-field"),
    pytest.param({"text": "a" * 65537}, None, 422, "65,537 bytes", id="text-over-64k"),
    pytest.param(None, b"SURROGATE", 422, "surrogate", id="lone-surrogate"),
    pytest.param({"text": "a\u0000b"}, None, 422, "NUL", id="nul"),
    pytest.param({"created_at": "2026-03-02T08:55:00"}, None, 422, "timezone", id="naive-time"),
    pytest.param({"author": None}, None, 422, "needs its author", id="no-author"),
    pytest.param(
        {"txt": "typo"}, None, 422, "txt: Extra inputs are not permitted", id="unknown-field"
    ),
    pytest.param({"kind": "fax"}, None, 422, "kind", id="unknown-kind"),
    pytest.param({"raw": {"a": DEEP}}, None, 422, "nested deeper", id="deep-raw"),
    pytest.param({"url": "javascript:alert(1)"}, None, 422, "url", id="bad-url"),
]


@pytest.mark.parametrize(("fields", "raw", "status", "says"), BAD_SINGLE)
def test_bad_message_is_refused_and_nothing_stored(
    api: Api, fields: dict[str, Any] | None, raw: bytes | None, status: int, says: str
) -> None:
    before = api.snapshot()
    body = message(api)
    if fields is not None:
        body.update(fields)
        if "channel_id" not in fields and "external_id" in fields and len(fields) == 1:
            body.pop("channel_id")
    if raw == b"SURROGATE":
        raw = json.dumps(message(api)).replace("parcel", "\\ud800parcel").encode()
    code, problem = sent(api, body, raw=raw)
    assert code == status
    assert says in problem["detail"] or says in json.dumps(problem.get("errors", []))
    assert api.snapshot() == before


def test_unknown_channel_is_named(api: Api) -> None:
    before = api.snapshot()
    code, problem = sent(api, message(api, channel_id=999))
    assert code == 422
    assert "channel 999 does not exist" in problem["detail"]
    assert api.snapshot() == before


def test_not_json_content_type_is_415(api: Api) -> None:
    code, problem = sent(api, None, raw=b"hello", headers={"content-type": "text/plain"})
    assert (code, problem["code"]) == (415, "media_type")


def test_array_instead_of_object_is_422(api: Api) -> None:
    code, _ = sent(api, [message(api)])
    assert code == 422


def test_oversized_body_is_refused_before_it_is_read(api: Api) -> None:
    big = b'{"messages": [' + b" " * (api.desk.settings.max_body_bytes + 10) + b"]}"
    code, problem = sent(api, None, raw=big, path="/api/v1/messages:batch")
    assert (code, problem["code"]) == (413, "body_too_large")


class TestBatchRefusals:
    def test_bad_item_rejects_the_whole_batch_naming_its_index(self, api: Api) -> None:
        before = api.snapshot()
        items = [message(api, "a"), message(api, "b"), message(api, "c", text="x" * 70000)]
        code, problem = sent(api, {"messages": items}, path="/api/v1/messages:batch")
        assert (code, problem["index"]) == (422, 2)
        assert problem["detail"].startswith(
            "item 2 is not valid, so no message of the batch was stored"
        )
        assert api.snapshot() == before

    def test_unknown_channel_in_item_rejects_the_batch(self, api: Api) -> None:
        before = api.snapshot()
        items = [message(api, "a"), message(api, "b", channel_id=12345)]
        code, problem = sent(api, {"messages": items}, path="/api/v1/messages:batch")
        assert (code, problem["index"]) == (422, 1)
        assert "item 1: channel 12345 does not exist" in problem["detail"]
        assert api.snapshot() == before

    def test_more_than_a_thousand_is_refused(self, api: Api) -> None:
        items = [message(api, f"t{i}") for i in range(1001)]
        code, problem = sent(api, {"messages": items}, path="/api/v1/messages:batch")
        assert code == 422
        assert "at most 1000" in json.dumps(problem["errors"])

    def test_empty_batch_is_refused(self, api: Api) -> None:
        code, _ = sent(api, {"messages": []}, path="/api/v1/messages:batch")
        assert code == 422


class TestAuth:
    def test_no_token_is_401_with_a_hint(self, api: Api) -> None:
        r = api.post("/api/v1/messages", json=message(api), as_=None)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "socialdesk token create" in r.json()["detail"]

    @pytest.mark.parametrize("header", ["Bearer sdk_nope", "Basic abc", "Bearer", "sdk_x"])
    def test_bad_credentials_are_401(self, api: Api, header: str) -> None:
        r = api.post(
            "/api/v1/messages", json=message(api), as_=None, headers={"Authorization": header}
        )
        assert r.status_code == 401

    def test_agents_may_not_ingest(self, api: Api) -> None:
        before = api.snapshot()
        r = api.post("/api/v1/messages", json=message(api), as_="agent")
        assert r.status_code == 403
        assert "supervisor role" in r.json()["detail"]
        assert api.snapshot() == before

    def test_revoked_token_stops_working(self, api: Api) -> None:
        created = api.post("/api/v1/tokens", json={"name": "temp"}, as_="supervisor").json()
        headers = {"Authorization": f"Bearer {created['token']}"}
        assert api.get("/api/v1/me", as_=None, headers=headers).status_code == 200
        assert (
            api.request("DELETE", f"/api/v1/tokens/{created['id']}", as_="supervisor").status_code
            == 204
        )
        assert api.get("/api/v1/me", as_=None, headers=headers).status_code == 401
