"""The transactions connector over real HTTP: a phone system's call records and a chat system's
transcripts, signed, into the desk's webhook; agents' chat replies out to a fake chat system on
127.0.0.1; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from socialdesk.adapters.connectors.transactions.fake import FakeTransactions
from socialdesk.adapters.connectors.transactions.inbound import (
    signed_headers,
    spoken_duration,
    verify,
)
from socialdesk.adapters.db import tables as t
from socialdesk.domain.connectors import SignatureInvalid, WebhookRequest
from socialdesk.services.delivery import DeliveryReport, deliver_due
from tests.e2e.conftest import Api
from tests.support.server import live_server

SECRET = "phone-and-chat-signing-secret"
ANN = {"id": "v-1", "name": "Ann", "email": "ann@example.com"}


@pytest.fixture
def fake_chat() -> Iterator[tuple[FakeTransactions, str]]:
    fake = FakeTransactions(SECRET)
    with live_server(fake.app()) as url:
        yield fake, url


@pytest.fixture
def tx(api: Api, fake_chat: tuple[FakeTransactions, str]) -> TxDesk:
    fake, url = fake_chat
    phone = _channel(api, "phone", "+1 800 ACME", {"signing_secret": SECRET})
    chat = _channel(
        api,
        "chat",
        "acme.example web chat",
        {"signing_secret": SECRET, "reply_url": url + "/replies"},
    )
    return TxDesk(api, fake, phone, chat)


def _channel(api: Api, platform: str, name: str, settings: dict[str, str]) -> int:
    r = api.post(
        "/api/v1/channels", json={"platform": platform, "name": name, "settings": settings}
    )
    assert r.status_code == 201, r.text
    channel_id: int = r.json()["id"]
    return channel_id


class TxDesk:
    def __init__(self, api: Api, fake: FakeTransactions, phone: int, chat: int) -> None:
        self.api, self.fake, self.phone, self.chat = api, fake, phone, chat

    @staticmethod
    def hook(channel_id: int) -> str:
        return f"/webhooks/transactions/{channel_id}"

    def deliver(self, channel_id: int, payload: Any, **signing: Any) -> Any:
        body, headers = self.fake.signed(payload, **signing)
        return self.api.client.post(self.hook(channel_id), content=body, headers=headers)

    def call(self, *args: Any, **kw: Any) -> Any:
        r = self.deliver(self.phone, self.fake.call(*args, **kw))
        assert r.status_code == 200, r.text
        return r

    def messages(self) -> list[Any]:
        with self.api.desk.engine.connect() as conn:
            return list(conn.execute(select(t.messages).order_by(t.messages.c.id)))

    def count(self, table: Any) -> int:
        with self.api.desk.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def queue(self, platform: str, status: str = "open") -> list[dict[str, Any]]:
        r = self.api.get("/api/v1/conversations", params={"platform": platform, "status": status})
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    def view(self, conversation_id: int) -> dict[str, Any]:
        r = self.api.get(f"/api/v1/conversations/{conversation_id}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def send_outbox(self) -> DeliveryReport:
        desk = self.api.desk
        return deliver_due(desk.uow, desk.connectors, now=desk.clock.now())


# -- calls ----------------------------------------------------------------------------------------


def test_a_signed_call_record_becomes_a_phone_conversation(tx: TxDesk) -> None:
    tx.call(
        "call-123",
        "+1 (555) 123-4567",
        caller_name="Ann Smith",
        agent="jdoe",
        notes="Wants a refund for order 4411",
        transcript="Agent: Acme, how can I help?\nCaller: my order never arrived",
        recording_url="https://pbx.example/recordings/call-123.mp3",
    )
    (conversation,) = tx.queue("phone")
    view = tx.view(conversation["id"])
    (identity,) = view["customer"]["identities"]
    assert (identity["platform"], identity["external_id"], identity["handle"]) == (
        "phone",
        "+15551234567",
        "+15551234567",
    )
    assert identity["name"] == "Ann Smith"
    (message,) = view["messages"]
    assert message["text"] == (
        "Inbound call, 2 min 3 s, answered\n\n"
        "Notes: Wants a refund for order 4411\n\n"
        "Transcript:\nAgent: Acme, how can I help?\nCaller: my order never arrived"
    )
    assert (message["kind"], message["visibility"], message["direction"]) == (
        "call",
        "private",
        "inbound",
    )
    assert message["external_id"] == "call:call-123"
    assert message["created_at"].startswith("2026-03-02T08:30:00")
    assert message["url"] == "https://pbx.example/recordings/call-123.mp3"
    assert message["meta"] == {
        "direction": "inbound",
        "duration_seconds": 123,
        "disposition": "answered",
        "agent": "jdoe",
        "recording_url": "https://pbx.example/recordings/call-123.mp3",
        "line": "+18005550100",
        "call_id": "call-123",
    }
    with tx.api.desk.engine.connect() as conn:
        raw = conn.execute(select(t.raw_events)).one()
    assert raw.payload["caller"] == "+1 (555) 123-4567"  # the record as the phone system sent it


def test_the_same_caller_calling_again_is_the_same_customer(tx: TxDesk) -> None:
    tx.call("call-1", "+15551234567")
    tx.call("call-2", "555.123.4567", disposition="voicemail")  # no +1: the default region
    tx.call("call-3", "+1 555 999 0000")
    first, second, other = tx.messages()
    assert first.conversation_id == second.conversation_id != other.conversation_id
    assert tx.count(t.identities) == 2
    assert tx.count(t.customers) == 2
    view = tx.view(first.conversation_id)
    assert [i["external_id"] for i in view["customer"]["identities"]] == ["+15551234567"]


def test_numbers_without_country_code_use_the_channels_region(tx: TxDesk) -> None:
    london = _channel(
        tx.api, "phone", "+44 20 ACME", {"signing_secret": SECRET, "default_region": "gb"}
    )
    record = tx.fake.call("uk-1", "020 7946 0958", callee="020 7946 0000")
    assert tx.deliver(london, record).status_code == 200
    (message,) = tx.messages()
    assert message.meta["line"] == "+442079460000"
    view = tx.view(message.conversation_id)
    assert view["customer"]["identities"][0]["external_id"] == "+442079460958"


def test_a_missed_call_lands_in_the_open_queue(tx: TxDesk) -> None:
    tx.call("call-9", "+15550001111", duration_seconds=0, disposition="missed")
    (conversation,) = tx.queue("phone")
    assert conversation["status"] == "open"
    assert conversation["waiting_since"] is not None
    assert conversation["preview"].startswith("Inbound call, missed")
    assert tx.queue("chat") == []


def test_an_outbound_call_is_outbound_to_the_callee(tx: TxDesk) -> None:
    tx.call(
        "call-out-1",
        "+18005550100",
        direction="outbound",
        callee="+1 555 222 3333",
        callee_name="Bo",
        duration_seconds=3725,
    )
    (message,) = tx.messages()
    assert message.direction == "outbound"
    assert message.text == "Outbound call, 1 h 2 min 5 s, answered"
    assert message.meta["line"] == "+18005550100"
    assert tx.queue("phone") == []  # the brand called: nobody is waiting on us
    (conversation,) = tx.queue("phone", status="pending")
    view = tx.view(conversation["id"])
    (identity,) = view["customer"]["identities"]
    assert (identity["external_id"], identity["name"]) == ("+15552223333", "Bo")


def test_withheld_numbers_are_separate_unknown_callers(tx: TxDesk) -> None:
    tx.call("anon-1", "anonymous", disposition="missed", duration_seconds=0)
    tx.call("anon-2", "Restricted", disposition="missed", duration_seconds=0)
    first, second = tx.messages()
    assert first.conversation_id != second.conversation_id
    assert tx.count(t.customers) == 2


# -- chats ------------------------------------------------------------------------------------


def test_a_chat_transcript_is_one_conversation_in_order(tx: TxDesk) -> None:
    transcript = tx.fake.chat(
        "chat-9",
        ANN,
        [
            ("visitor", "Hi, my card was charged twice"),
            ("system", "Jo joined the chat"),
            ("agent", "Sorry about that! Which order?"),
            ("visitor", "Order 77"),
        ],
    )
    transcript["messages"].reverse()  # out of order on the wire: the times decide
    assert tx.deliver(tx.chat, transcript).status_code == 200
    (conversation,) = tx.queue("chat")  # the visitor wrote last: the brand owes an answer
    view = tx.view(conversation["id"])
    assert [(m["direction"], m["text"]) for m in view["messages"]] == [
        ("inbound", "Hi, my card was charged twice"),
        ("outbound", "Sorry about that! Which order?"),
        ("inbound", "Order 77"),
    ]
    assert [m["external_id"] for m in view["messages"]] == [
        "chat:chat-9:m1",
        "chat:chat-9:m3",
        "chat:chat-9:m4",
    ]
    assert {m["meta"]["chat_id"] for m in view["messages"]} == {"chat-9"}
    assert view["conversation"]["first_response_at"].startswith("2026-03-02T08:41:00")
    identities = {(i["platform"], i["external_id"]) for i in view["customer"]["identities"]}
    assert identities == {("chat", "v-1"), ("email", "ann@example.com")}
    metrics = tx.api.client.get("/metrics").text
    assert 'connector="transactions",kind="chat_system_line",outcome="ignored"} 1.0' in metrics


def test_a_chat_visitor_with_a_known_email_joins_that_customers_record(tx: TxDesk) -> None:
    email = _channel(tx.api, "email", "help@acme.example", {})
    r = tx.api.post(
        "/api/v1/messages",
        as_="supervisor",
        json={
            "channel_id": email,
            "external_id": "<m1@example.com>",
            "kind": "email",
            "subject": "Charged twice",
            "text": "My card was charged twice for order 77",
            "created_at": "2026-03-01T18:00:00Z",
            "author": {"external_id": "ann@example.com", "email": "ann@example.com"},
        },
    )
    assert r.status_code == 201, r.text
    email_conversation = r.json()["conversation_id"]
    visitor = {"id": "v-77", "name": "Ann", "email": "Ann@Example.COM"}
    transcript = tx.fake.chat("chat-10", visitor, [("visitor", "Following up on my e-mail")])
    assert tx.deliver(tx.chat, transcript).status_code == 200
    (chat,) = tx.queue("chat")
    record = tx.view(chat["id"])["customer"]
    assert {(i["platform"], i["external_id"]) for i in record["identities"]} == {
        ("chat", "v-77"),
        ("email", "ann@example.com"),
    }
    assert [c["id"] for c in record["conversations"]] == [email_conversation]
    assert tx.count(t.customers) == 1


def test_a_longer_transcript_later_adds_only_the_new_lines(tx: TxDesk) -> None:
    lines = [("visitor", "Hello?"), ("agent", "Hi Ann, one moment")]
    assert tx.deliver(tx.chat, tx.fake.chat("chat-5", ANN, lines)).status_code == 200
    more = [*lines, ("visitor", "Thanks, still here")]
    assert tx.deliver(tx.chat, tx.fake.chat("chat-5", ANN, more)).status_code == 200
    messages = tx.messages()
    assert [m.text for m in messages] == [text for _, text in more]
    assert len({m.conversation_id for m in messages}) == 1


# -- signatures -------------------------------------------------------------------------------


def _wrong_secret(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return FakeTransactions("not-the-secret").signed(json.loads(body))[1], body


def _no_signature(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    del headers["X-Socialdesk-Signature"]
    return headers, body


def _no_timestamp(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    del headers["X-Socialdesk-Timestamp"]
    return headers, body


def _tampered(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return headers, body.replace(b"123", b"124")


REFUSALS = [
    pytest.param(_wrong_secret, None, "does not match", id="wrong-secret"),
    pytest.param(_no_signature, None, "no X-Socialdesk-Signature header", id="no-signature"),
    pytest.param(_no_timestamp, None, "no X-Socialdesk-Timestamp header", id="no-timestamp"),
    pytest.param(_tampered, None, "does not match", id="tampered-body"),
    pytest.param(None, -600, "seconds old", id="stale"),
    pytest.param(None, 600, "ahead of this server's clock", id="from-the-future"),
]


@pytest.mark.parametrize(("change", "shift", "says"), REFUSALS)
def test_an_unsigned_or_stale_request_is_refused_and_nothing_is_stored(
    tx: TxDesk, change: Any, shift: int | None, says: str
) -> None:
    before = tx.api.snapshot()
    stamp = int(time.time()) + (shift or 0)
    body, headers = tx.fake.signed(tx.fake.call("call-1", "+15551234567"), timestamp=stamp)
    if change is not None:
        headers, body = change(headers, body)
    r = tx.api.client.post(tx.hook(tx.phone), content=body, headers=headers)
    assert r.status_code == 401
    assert says in r.json()["detail"]
    assert tx.api.snapshot() == before


def test_a_redelivery_changes_nothing(tx: TxDesk) -> None:
    payload = {
        "records": [
            tx.fake.call("call-1", "+15551234567"),
            tx.fake.call("call-2", "+15557654321", disposition="missed"),
        ]
    }
    assert tx.deliver(tx.phone, payload).status_code == 200
    transcript = tx.fake.chat("chat-1", ANN, [("visitor", "hi"), ("agent", "hello")])
    assert tx.deliver(tx.chat, transcript).status_code == 200
    before = tx.api.snapshot()
    assert tx.deliver(tx.phone, payload).status_code == 200  # signed afresh, same records
    assert tx.deliver(tx.chat, transcript).status_code == 200
    assert tx.api.snapshot() == before


def test_a_signed_get_answers_so_integrators_can_test_their_signing(tx: TxDesk) -> None:
    stamp = int(time.time())
    headers = signed_headers(SECRET, b"", stamp)  # a GET has no body: the empty body is signed
    r = tx.api.client.get(tx.hook(tx.phone), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "ok": True,
        "connector": "transactions",
        "channel": tx.phone,
        "platform": "phone",
    }
    unsigned = tx.api.client.get(tx.hook(tx.chat))
    assert unsigned.status_code == 403
    assert "X-Socialdesk-Timestamp" in unsigned.json()["detail"]
    wrong = tx.api.client.get(tx.hook(tx.chat), headers=signed_headers("nope", b"", stamp))
    assert wrong.status_code == 403


def test_the_path_must_name_a_phone_or_chat_channel(tx: TxDesk) -> None:
    body, headers = tx.fake.signed(tx.fake.call("call-1", "+15551234567"))
    x_channel = tx.api.channel_id
    r = tx.api.client.post(tx.hook(x_channel), content=body, headers=headers)
    assert r.status_code == 404
    assert "/webhooks/transactions/<channel id>" in r.json()["detail"]


# -- unreadable deliveries ------------------------------------------------------------------------


def _call(**changes: Any) -> dict[str, Any]:
    record = FakeTransactions.call("call-1", "+15551234567")
    record.update(changes)
    return {k: v for k, v in record.items() if v is not None}


GOOD = [_call(id="ok-1"), _call(id="ok-2")]
BAD = [
    pytest.param(b'{"records": [', "the body is not JSON", id="not-json"),
    pytest.param([1, 2], "the body must be a JSON object", id="a-list"),
    pytest.param({"calls": []}, 'or {"records": [ ... ]}', id="no-records"),
    pytest.param({"records": []}, "records has 0 items; send 1 to 500", id="no-records-at-all"),
    pytest.param({"records": [_call()] * 501}, "records has 501 items", id="too-many"),
    pytest.param(
        {"records": [*GOOD, _call(caller="12")]},
        "records[2].caller is not a phone number: '12'",
        id="bad-number",
    ),
    pytest.param(
        {"records": [_call(type="sms")]}, "records[0].type must be call or chat", id="bad-type"
    ),
    pytest.param(
        {"records": [_call(type=None)]},
        "records[0].type must be call or chat, not null",
        id="no-type",
    ),
    pytest.param(
        _call(duration_seconds=-5), "record.duration_seconds must be between 0", id="negative"
    ),
    pytest.param(_call(duration_seconds="2 min"), "whole number of seconds", id="text-duration"),
    pytest.param(_call(started_at="2026-03-02 08:30"), "has no UTC offset", id="naive-time"),
    pytest.param(_call(started_at="yesterday"), "is not an ISO 8601 time", id="bad-time"),
    pytest.param(_call(disposition="hung up"), "must be answered, missed", id="bad-disposition"),
    pytest.param(_call(caller=None), "record.caller is missing", id="no-caller"),
    pytest.param(_call(notes=["a"]), "record.notes must be a string, not a list", id="notes"),
    pytest.param(_call(notes="a\u0000b"), "record.notes contains a NUL", id="nul"),
    pytest.param(
        _call(recording_url="javascript:alert(1)"), "is not an http(s) address", id="bad-url"
    ),
    pytest.param(
        FakeTransactions.chat("chat-1", ANN, [("visitor", "hi")]),
        "is a chat record, but channel",
        id="chat-on-a-phone-channel",
    ),
]


@pytest.mark.parametrize(("payload", "says"), BAD)
def test_an_unreadable_delivery_is_refused_quarantined_and_stores_no_message(
    tx: TxDesk, payload: Any, says: str
) -> None:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    r = tx.api.client.post(tx.hook(tx.phone), content=body, headers=signed_headers(SECRET, body))
    assert r.status_code == 400, r.text
    assert says in r.json()["detail"]
    assert tx.messages() == []
    (item,) = tx.api.get("/api/v1/quarantine").json()
    assert (item["connector"], item["channel_id"]) == ("transactions", tx.phone)
    assert says in item["reason"]
    assert item["body_bytes"] == len(body)
    assert body.decode().startswith(item["body"])  # the list shows the start of a large body


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"messages": []}, "record.messages must be a non-empty list"),
        ({"visitor": {"name": "Ann"}}, "record.visitor.id is missing"),
        ({"visitor": {"id": "v", "email": "ann at home"}}, "is not an e-mail address"),
        ({"ended_at": "2026-03-02T08:00:00Z"}, "record.ended_at is before started_at"),
    ],
)
def test_an_unreadable_transcript_is_refused(tx: TxDesk, change: Any, says: str) -> None:
    transcript = tx.fake.chat("chat-1", ANN, [("visitor", "hi"), ("agent", "hello")])
    transcript.update(change)
    r = tx.deliver(tx.chat, transcript)
    assert r.status_code == 400, r.text
    assert says in r.json()["detail"]
    assert tx.messages() == []


def test_an_empty_chat_line_names_the_line(tx: TxDesk) -> None:
    transcript = tx.fake.chat("chat-1", ANN, [("visitor", "hi"), ("agent", "  ")])
    r = tx.deliver(tx.chat, {"records": [transcript]})
    assert r.status_code == 400
    assert r.json()["detail"] == "records[0].messages[1].text is empty"


def test_a_quarantined_delivery_can_be_replayed_once_the_channel_is_fixed(tx: TxDesk) -> None:
    """A region mistake on the channel is fixed by an admin; the kept body is then taken in."""
    london = _channel(tx.api, "phone", "+44 20 ACME", {"signing_secret": SECRET})
    record = tx.fake.call("uk-1", "020 7946 0958")  # too long for the US, fine for GB
    r = tx.deliver(london, record)
    assert r.status_code == 400
    (item,) = tx.api.get("/api/v1/quarantine").json()
    settings = {"settings": {"default_region": "GB"}}
    assert tx.api.request("PATCH", f"/api/v1/channels/{london}", json=settings).status_code == 200
    replayed = tx.api.post(f"/api/v1/quarantine/{item['id']}/replay").json()
    assert replayed["replay_result"] == "taken in"
    (message,) = tx.messages()
    assert message.external_id == "call:uk-1"


# -- chat replies -------------------------------------------------------------------------------


def _chat_conversation(tx: TxDesk) -> int:
    transcript = tx.fake.chat("chat-9", ANN, [("visitor", "Is my refund through?")])
    assert tx.deliver(tx.chat, transcript).status_code == 200
    (conversation,) = tx.queue("chat")
    conversation_id: int = conversation["id"]
    return conversation_id


def test_an_agents_chat_reply_is_posted_signed_to_the_chat_system_once(tx: TxDesk) -> None:
    conversation_id = _chat_conversation(tx)
    r = tx.api.post(
        f"/api/v1/conversations/{conversation_id}/reply",
        json={"text": "Yes, it went through today.", "idempotency_key": "reply-key-1"},
    )
    assert r.status_code == 201, r.text
    reply_id = r.json()["id"]
    assert tx.send_outbox().sent == 1
    (posted,) = tx.fake.replies
    assert posted == {
        "conversation": "chat-9",
        "visitor_id": "v-1",
        "text": "Yes, it went through today.",
        "idempotency_key": "reply-key-1",
        "id": "r1",
    }
    message = next(m for m in tx.view(conversation_id)["messages"] if m["id"] == reply_id)
    assert message["delivery"]["state"] == "sent"
    assert message["delivery"]["platform_message_id"] == "chat:chat-9:r1"
    # The chat system's next transcript holds our reply as line r1: the same message, not a copy.
    later = tx.fake.chat(
        "chat-9",
        ANN,
        [("visitor", "Is my refund through?"), ("agent", "Yes, it went through today.")],
    )
    later["messages"][1]["id"] = "r1"
    before = tx.count(t.messages)
    assert tx.deliver(tx.chat, later).status_code == 200
    assert tx.count(t.messages) == before


def test_a_chat_system_failure_is_retried_and_posts_once(tx: TxDesk) -> None:
    conversation_id = _chat_conversation(tx)
    tx.fake.fail(503)
    tx.api.post(f"/api/v1/conversations/{conversation_id}/reply", json={"text": "On it"})
    assert tx.send_outbox().retrying == 1
    tx.api.desk.clock.advance(minutes=5)  # type: ignore[attr-defined]
    assert tx.send_outbox().sent == 1
    assert len(tx.fake.replies) == 1


def test_a_chat_channel_without_reply_url_fails_the_reply_with_what_to_set(tx: TxDesk) -> None:
    settings = {"settings": {"reply_url": ""}}
    r = tx.api.request("PATCH", f"/api/v1/channels/{tx.chat}", json=settings)
    assert r.status_code == 200, r.text
    conversation_id = _chat_conversation(tx)
    reply = tx.api.post(f"/api/v1/conversations/{conversation_id}/reply", json={"text": "Hi"})
    assert tx.send_outbox().failed == 1
    message = next(m for m in tx.view(conversation_id)["messages"] if m["id"] == reply.json()["id"])
    assert "has no setting 'reply_url'" in message["delivery"]["last_error"]
    assert tx.fake.requests == []


def test_the_signing_secret_is_encrypted_at_rest_and_never_shown(tx: TxDesk) -> None:
    with tx.api.desk.engine.connect() as conn:
        stored = conn.execute(
            select(t.channels.c.settings).where(t.channels.c.id == tx.phone)
        ).scalar_one()
    assert stored["signing_secret"].startswith("enc:v1:")
    assert SECRET not in json.dumps(stored)
    shown = tx.api.get(f"/api/v1/channels/{tx.phone}").json()["settings"]
    assert shown["signing_secret"] == "********"


# -- the rules without a server ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "accepted"), [(300, True), (-300, True), (301, False), (-301, False)]
)
def test_the_replay_window_is_five_minutes_either_way(age: int, accepted: bool) -> None:
    body = b'{"type": "call"}'
    sent_at = 1_767_225_600
    request = WebhookRequest(
        "POST", {}, {k.lower(): v for k, v in signed_headers(SECRET, body, sent_at).items()}, body
    )
    if accepted:
        verify(SECRET, request, now=sent_at + age)
    else:
        with pytest.raises(SignatureInvalid, match="refused as possible replays"):
            verify(SECRET, request, now=sent_at + age)


@pytest.mark.parametrize(
    ("seconds", "spoken"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (120, "2 min"),
        (123, "2 min 3 s"),
        (3600, "1 h"),
        (3725, "1 h 2 min 5 s"),
    ],
)
def test_call_durations_read_as_people_say_them(seconds: int, spoken: str) -> None:
    assert spoken_duration(seconds) == spoken
