"""Webhook deliveries on fakes: verified before read, quarantined when unreadable, replayable."""

from __future__ import annotations

import json

import pytest

from socialdesk.domain.connectors import (
    HandshakeRefused,
    PayloadInvalid,
    SignatureInvalid,
    WebhookRequest,
)
from socialdesk.domain.errors import InvalidInput, NotFound
from socialdesk.services import webhooks
from socialdesk.services.intake import IntakePolicy
from tests import factories as f
from tests.factories import T0
from tests.fakes import FakeConnector, FakeConnectors, FakeUnitOfWorkFactory

POLICY = IntakePolicy()


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


@pytest.fixture
def connectors() -> FakeConnectors:
    return FakeConnectors(FakeConnector("x"))


def post(body: object, signature: str | None = "s3cret") -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"x-signature": signature} if signature else {}
    return WebhookRequest("POST", {}, headers, raw)


def channel(uow: FakeUnitOfWorkFactory) -> int:
    return f.channel(uow, "x", "@brand", settings={"secret": "s3cret"})


def receive(uow, connectors, channel_id: int, request: WebhookRequest):
    return webhooks.receive(uow, connectors, "fake", channel_id, request, now=T0, policy=POLICY)


def test_a_signed_delivery_is_taken_in_and_its_ignored_events_counted(uow, connectors) -> None:
    ch = channel(uow)
    body = [{"id": "1", "text": "help"}, {"kind": "like"}, {"kind": "like"}]
    received = receive(uow, connectors, ch, post(body))
    assert received.result is not None
    assert received.result.new_messages == 1
    assert received.ignored == {"like": 2}
    again = receive(uow, connectors, ch, post(body))
    assert again.result is not None
    assert (again.result.new_messages, again.result.duplicates) == (0, 1)


def test_a_bad_signature_stores_nothing(uow, connectors) -> None:
    ch = channel(uow)
    before = uow.store.tables.copy()
    for signature in ("wrong", None):
        with pytest.raises(SignatureInvalid):
            receive(uow, connectors, ch, post([{"id": "1", "text": "x"}], signature))
    assert uow.store.tables == before


def test_an_unreadable_delivery_is_quarantined_and_can_be_replayed(uow, connectors) -> None:
    ch = channel(uow)
    with pytest.raises(PayloadInvalid):
        receive(uow, connectors, ch, post(b"{not json", "s3cret"))
    (item,) = uow.all("quarantine")
    assert (item.channel_id, item.connector, item.reason, item.body) == (
        ch,
        "fake",
        "not JSON",
        b"{not json",
    )
    assert item.headers == {}  # credentials and signatures of unknown names are not kept
    replayed = webhooks.replay(uow, connectors, item.id, now=T0, policy=POLICY)
    assert replayed.replay_result == "still unreadable: not JSON"
    # Fixed (here: the stored body is corrected), the replay takes it in, once.
    stored = uow.store.table("quarantine")[item.id]
    stored.body = json.dumps([{"id": "9", "text": "late"}]).encode()
    seen: list[object] = []
    replayed = webhooks.replay(uow, connectors, item.id, now=T0, policy=POLICY, on_done=seen.append)
    assert replayed.replay_result == "taken in"
    assert len(seen) == 1
    assert [m.text for m in uow.all("messages")] == ["late"]
    with pytest.raises(InvalidInput, match="replayed already"):
        webhooks.replay(uow, connectors, item.id, now=T0, policy=POLICY)


def test_paths_must_name_a_channel_the_connector_serves(uow, connectors) -> None:
    email = f.channel(uow, "email", "help@acme.example")
    with pytest.raises(NotFound, match="no active x channel"):
        receive(uow, connectors, email, post([]))
    with pytest.raises(NotFound):
        receive(uow, connectors, 999, post([]))
    with pytest.raises(NotFound, match="no nope connector"):
        webhooks.receive(uow, connectors, "nope", email, post([]), now=T0, policy=POLICY)


def test_the_handshake_is_the_connectors(uow, connectors) -> None:
    ch = channel(uow)
    ok = webhooks.handshake(
        uow, connectors, "fake", ch, WebhookRequest("GET", {"challenge": "42"}, {}, b"")
    )
    assert (ok.status, ok.body) == (200, "42")
    with pytest.raises(HandshakeRefused):
        webhooks.handshake(uow, connectors, "fake", ch, WebhookRequest("GET", {}, {}, b""))
