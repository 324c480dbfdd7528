"""The outbox sender: every reply reaches its platform at least once and is posted once.

A worker claims due items in a short transaction (marking them `sending`), then talks to the
platform outside any transaction, then records the outcome in another. Where the outcome of an
earlier attempt is unknown (the worker died between posting and recording, or the platform
answered 5xx or not at all), the item is `in_doubt`, and the connector is asked whether the post
exists before it is made again, so a crash costs a lookup, not a second post.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from socialdesk.domain.agents import Agent
from socialdesk.domain.channels import Channel
from socialdesk.domain.connectors import OutboundReply, ReplyMode, SendError, SendResult
from socialdesk.domain.errors import DomainError, InvalidTransition, NotFound
from socialdesk.domain.events import ReplyFailed, ReplyRetried, ReplySent
from socialdesk.domain.messages import DeliveryState, Message
from socialdesk.domain.outbox import OutboxItem
from socialdesk.services.ports import Connector, Connectors, UnitOfWork, UnitOfWorkFactory

LEASE = timedelta(minutes=2)  # longer than any one attempt (HTTP timeouts are 20 s)
BATCH = 20


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    reconciled: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed


@dataclass(frozen=True, slots=True)
class _Job:
    item: OutboxItem
    channel: Channel
    reply: OutboundReply


def deliver_due(
    uow: UnitOfWorkFactory,
    connectors: Connectors,
    *,
    now: datetime,
    lease: timedelta = LEASE,
    limit: int = BATCH,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """One round: claim what is due, attempt each, record each outcome."""
    report = DeliveryReport()
    for job in _claim(uow, now, lease, limit):
        connector = connectors.for_platform(job.channel.platform)
        if connector is None or "send" not in connector.features:
            outcome: SendResult | SendError = SendError(
                f"no connector can send on {job.channel.platform} channels", retryable=False
            )
            reconciled = False
        else:
            outcome, reconciled = _attempt(connector, job)
        _record(uow, job.item, outcome, reconciled, now, rng, report)
    return report


def _claim(uow: UnitOfWorkFactory, now: datetime, lease: timedelta, limit: int) -> list[_Job]:
    jobs = []
    with uow() as unit:
        for item in unit.outbox.claim_due(now, now - lease, limit):
            unit.messages.set_delivery(item.message_id, DeliveryState.SENDING)
            jobs.append(_job(unit, item))
        unit.commit()
    return jobs


def _job(unit: UnitOfWork, item: OutboxItem) -> _Job:
    message = unit.messages.get(item.message_id)
    conversation = unit.conversations.get(item.conversation_id)
    channel = unit.channels.get(item.channel_id)
    assert message is not None
    assert conversation is not None
    assert channel is not None
    identity = unit.identities.get(conversation.identity_id) if conversation.identity_id else None
    return _Job(
        item,
        channel,
        OutboundReply(
            idempotency_key=item.idempotency_key,
            text=message.text,
            mode=reply_mode(message),
            created_at=message.created_at,
            in_reply_to=message.in_reply_to,
            recipient_id=identity.external_id if identity else None,
            recipient_handle=identity.handle if identity else None,
            thread_key=conversation.thread_key,
            subject=message.subject,
            references=tuple(message.references),
            last_inbound_at=conversation.last_inbound_at,
        ),
    )


def reply_mode(message: Message) -> ReplyMode:
    stored = message.meta.get("reply_mode")
    if stored:
        return ReplyMode(stored)
    return (
        ReplyMode.PUBLIC_REPLY
        if message.visibility.value == "public"
        else ReplyMode.PRIVATE_MESSAGE
    )


def _attempt(connector: Connector, job: _Job) -> tuple[SendResult | SendError, bool]:
    """Ask first when an earlier attempt may have posted; then post. Any failure is a SendError;
    one raised while asking leaves the reply in doubt."""
    try:
        if job.item.in_doubt:
            try:
                found = connector.find_sent(job.channel, job.reply)
            except SendError as exc:
                exc.maybe_posted = True
                raise
            if found is not None:
                return found, True
        return connector.send(job.channel, job.reply), False
    except SendError as exc:
        return exc, False
    except DomainError as exc:  # a missing or unreadable channel setting
        return SendError(exc.message, retryable=False, maybe_posted=job.item.in_doubt), False


def _record(
    uow: UnitOfWorkFactory,
    item: OutboxItem,
    outcome: SendResult | SendError,
    reconciled: bool,
    now: datetime,
    rng: random.Random | None,
    report: DeliveryReport,
) -> None:
    with uow() as unit:
        if isinstance(outcome, SendResult):
            _sent(unit, item, outcome, reconciled, now)
            report.sent += 1
            report.reconciled += int(reconciled)
        else:
            item.attempt_failed(
                outcome.message,
                now,
                retryable=outcome.retryable,
                maybe_posted=outcome.maybe_posted,
                retry_after=outcome.retry_after,
                retry_at=outcome.retry_at,
                rng=rng,
            )
            failed = item.state is DeliveryState.FAILED
            unit.messages.set_delivery(
                item.message_id,
                DeliveryState.FAILED if failed else DeliveryState.QUEUED,
                error=outcome.message,
            )
            if failed:
                unit.events.append(
                    [
                        ReplyFailed(
                            occurred_at=now,
                            conversation_id=item.conversation_id,
                            message_id=item.message_id,
                            error=outcome.message,
                            attempts=item.attempts,
                        )
                    ]
                )
                report.failed += 1
            else:
                report.retrying += 1
        unit.outbox.update(item)
        unit.commit()


def _sent(
    unit: UnitOfWork, item: OutboxItem, result: SendResult, reconciled: bool, now: datetime
) -> None:
    item.sent(result.platform_message_id, now)
    unit.messages.set_delivery(
        item.message_id,
        DeliveryState.SENT,
        external_id=result.platform_message_id,
        url=result.url,
    )
    unit.events.append(
        [
            ReplySent(
                occurred_at=now,
                conversation_id=item.conversation_id,
                message_id=item.message_id,
                platform_message_id=result.platform_message_id,
                attempts=item.attempts,
                reconciled=reconciled,
            )
        ]
    )


def record_sent(uow: UnitOfWork, message_id: int, result: SendResult, now: datetime) -> None:
    """A reply that reached its platform by another way (history loaded from elsewhere, the
    demo's past): recorded as sent, so no worker sends it again."""
    with uow:
        item = uow.outbox.get_for_message(message_id, for_update=True)
        if item is None:
            raise NotFound(f"message {message_id} is not a reply in the outbox")
        _sent(uow, item, result, False, now)
        uow.outbox.update(item)
        uow.commit()


def retry_reply(
    uow: UnitOfWork, actor: Agent, conversation_id: int, message_id: int, now: datetime
) -> OutboxItem:
    """An agent tries a failed reply again: a fresh round of attempts, from now."""
    with uow:
        item = uow.outbox.get_for_message(message_id, for_update=True)
        if item is None or item.conversation_id != conversation_id:
            raise NotFound(f"message {message_id} is not a reply of conversation {conversation_id}")
        if item.state is not DeliveryState.FAILED:
            raise InvalidTransition(
                f"reply {message_id} is {item.state.value}; only a failed reply can be retried"
            )
        item.retry_by_hand(now)
        uow.outbox.update(item)
        uow.messages.set_delivery(message_id, DeliveryState.QUEUED)
        uow.events.append(
            [
                ReplyRetried(
                    occurred_at=now,
                    actor_agent_id=actor.id,
                    conversation_id=item.conversation_id,
                    message_id=message_id,
                )
            ]
        )
        uow.commit()
    return item
