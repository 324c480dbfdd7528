"""Webhook deliveries from platforms: verify, read, take in; quarantine what cannot be read.

The order matters. The signature is checked over the raw bytes before anything is read, so an
unsigned or wrongly signed delivery is refused (401) with nothing stored. A signed delivery that
cannot be read is kept in quarantine (an admin can look at it and replay it) and refused with
400. Everything else is taken in through intake, which commits before we answer 200, and
redeliveries change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from socialdesk.domain.channels import Channel
from socialdesk.domain.connectors import (
    Delivery,
    MessageChange,
    PayloadInvalid,
    QuarantinedDelivery,
    WebhookRequest,
    WebhookResponse,
)
from socialdesk.domain.errors import InvalidInput, NotFound
from socialdesk.services.intake import IngestResult, IntakePolicy, ingest
from socialdesk.services.ports import Connector, Connectors, UnitOfWorkFactory

# Headers kept with a quarantined delivery: enough to replay and to understand it, no cookies or
# credentials.
KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "x-twitter-webhooks-signature",
    "x-hub-signature-256",
    "x-socialdesk-timestamp",
    "x-socialdesk-signature",
)


@dataclass(slots=True)
class Received:
    """What one delivery did."""

    response: WebhookResponse
    result: IngestResult | None = None
    changed: int = 0
    ignored: dict[str, int] = field(default_factory=dict)


def channel_for(
    uow: UnitOfWorkFactory, connectors: Connectors, name: str, channel_id: int
) -> tuple[Connector, Channel]:
    """The connector and the channel a webhook path names; NotFound unless they belong together."""
    connector = connectors.get(name)
    with uow(read_only=True) as unit:
        channel = unit.channels.get(channel_id)
    served = {p.platform for p in connector.platforms}
    if channel is None or not channel.active or channel.platform not in served:
        raise NotFound(
            f"there is no active {'/'.join(sorted(served))} channel {channel_id} for the "
            f"{name} connector; the webhook path is /webhooks/{name}/<channel id>"
        )
    return connector, channel


def handshake(
    uow: UnitOfWorkFactory,
    connectors: Connectors,
    name: str,
    channel_id: int,
    request: WebhookRequest,
) -> WebhookResponse:
    connector, channel = channel_for(uow, connectors, name, channel_id)
    return connector.handshake(channel, request)


def receive(
    uow: UnitOfWorkFactory,
    connectors: Connectors,
    name: str,
    channel_id: int,
    request: WebhookRequest,
    *,
    now: datetime,
    policy: IntakePolicy,
) -> Received:
    connector, channel = channel_for(uow, connectors, name, channel_id)
    connector.verify(channel, request)
    try:
        delivery = connector.parse(channel, request)
    except PayloadInvalid as exc:
        quarantine(uow, name, channel_id, request, exc.message, now)
        raise
    return take_in(uow, f"webhook:{name}", delivery, now=now, policy=policy)


def take_in(
    uow: UnitOfWorkFactory,
    source: str,
    delivery: Delivery,
    *,
    now: datetime,
    policy: IntakePolicy,
) -> Received:
    """Store a delivery's messages (one transaction, committed before we answer) and changes;
    `source` names where they came from in the raw event log (`webhook:x`, `poll:email`)."""
    result = None
    if delivery.messages:
        result = ingest(uow, delivery.messages, now=now, policy=policy, source=source)
    changed = apply_changes(uow, delivery.changes) if delivery.changes else 0
    return Received(WebhookResponse(), result, changed, dict(delivery.ignored))


def apply_changes(uow: UnitOfWorkFactory, changes: list[MessageChange]) -> int:
    with uow() as unit:
        applied = sum(1 for change in changes if unit.messages.apply_change(change))
        unit.commit()
    return applied


def quarantine(
    uow: UnitOfWorkFactory,
    connector: str,
    channel_id: int | None,
    request: WebhookRequest,
    reason: str,
    now: datetime,
) -> QuarantinedDelivery:
    item = QuarantinedDelivery(
        connector=connector,
        received_at=now,
        reason=reason,
        headers={k: v for k, v in request.headers.items() if k in KEPT_HEADERS},
        body=request.body,
        channel_id=channel_id,
        query=dict(request.query),
    )
    with uow() as unit:
        unit.quarantine.add(item)
        unit.commit()
    return item


def replay(
    uow: UnitOfWorkFactory,
    connectors: Connectors,
    item_id: int,
    *,
    now: datetime,
    policy: IntakePolicy,
    on_done: Callable[[Received], None] | None = None,
) -> QuarantinedDelivery:
    """Read a quarantined delivery again (after a fix) and take it in; the outcome is recorded
    on the item either way. Its signature was checked when it arrived."""
    with uow(read_only=True) as unit:
        item = unit.quarantine.get(item_id)
    if item is None:
        raise NotFound(f"quarantined delivery {item_id} does not exist")
    if item.replayed_at is not None and item.replay_result == "taken in":
        raise InvalidInput(f"quarantined delivery {item_id} was replayed already")
    if item.channel_id is None:
        raise InvalidInput(f"quarantined delivery {item_id} names no channel to replay it into")
    connector, channel = channel_for(uow, connectors, item.connector, item.channel_id)
    try:
        delivery = connector.parse(channel, item.request())
        received = take_in(uow, f"webhook:{item.connector}", delivery, now=now, policy=policy)
        outcome = "taken in"
    except PayloadInvalid as exc:
        received, outcome = None, f"still unreadable: {exc.message}"
    with uow() as unit:
        stored = unit.quarantine.get(item_id, for_update=True)
        assert stored is not None
        stored.replayed_at, stored.replay_result = now, outcome
        unit.quarantine.update(stored)
        unit.commit()
    if received is not None and on_done is not None:
        on_done(received)
    return stored
