"""Triage of inbound messages after intake, and priority that grows while a customer waits.

Intake commits a message first (so it is durable and acknowledged fast); triage then claims
untriaged messages, classifies them outside any transaction (CPU work must not hold SQLite's write
lock), and writes the results: the signals and the priority at arrival on the message, sentiment,
intent, language and priority with its factors on the conversation. Claims are leases: a worker
that dies leaves its claim to expire, and with PostgreSQL several workers share the queue with
FOR UPDATE SKIP LOCKED. Writes only fill messages whose triage is still empty, so a retried batch
changes nothing twice. A caller may do more in the same write (`then`): the worker counts public
posts and matches the listening queries there (services/listening.py), so a triaged message is a
counted and matched one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from socialdesk.domain.events import MessageTriaged
from socialdesk.domain.sla import ResponseTargets
from socialdesk.domain.triage import (
    PriorityContext,
    PriorityWeights,
    TextSignals,
    TriageInput,
    priority_to_json,
    score_priority,
    signals_to_json,
)
from socialdesk.services.ports import Classifier, UnitOfWork, UnitOfWorkFactory

BATCH = 256
LEASE = timedelta(minutes=5)
RESCORE_EVERY = timedelta(minutes=1)

U = TypeVar("U", bound=UnitOfWork)
U_co = TypeVar("U_co", bound=UnitOfWork, covariant=True)


class Units(Protocol[U_co]):
    """A unit of work factory whose units are of one kind (the plain ones or a richer kind)."""

    def __call__(self, *, read_only: bool = False) -> U_co: ...


@dataclass(frozen=True, slots=True)
class Triaged:
    """A message the batch triaged, with what the models found."""

    message_id: int
    conversation_id: int
    signals: TextSignals


@dataclass(frozen=True, slots=True)
class TriagePolicy:
    weights: PriorityWeights = field(default_factory=PriorityWeights)
    targets: ResponseTargets = field(default_factory=ResponseTargets)


def triage_pending(
    uow_factory: Units[U],
    classifier: Classifier,
    *,
    now: datetime,
    policy: TriagePolicy,
    limit: int = BATCH,
    then: Callable[[U, Sequence[Triaged], datetime], object] | None = None,
) -> int:
    """Triage up to `limit` waiting messages; returns how many were triaged. `then(unit,
    triaged, now)` runs in the transaction that stores the results, before it commits."""
    with uow_factory() as uow:
        claimed = uow.messages.claim_for_triage(now, now - LEASE, limit)
        uow.commit()
    if not claimed:
        return 0
    with uow_factory(read_only=True) as uow:
        inputs = uow.messages.triage_inputs(claimed)
    signals = classifier.classify([item.text for item in inputs])
    with uow_factory() as uow:
        conversations = uow.conversations.get_many({item.conversation_id for item in inputs})
        results = []
        events = []
        for item, found in zip(inputs, signals, strict=True):
            conversation = conversations[item.conversation_id]
            target = _target_minutes(policy.targets, conversation.first_response_at is not None)
            arrival = score_priority(found, _context(item, 0.0, target), policy.weights)
            results.append(
                (item.message_id, {**signals_to_json(found), "priority": priority_to_json(arrival)})
            )
            waited = _waited_minutes(conversation.waiting_since, now)
            conversation.apply_triage(
                found, item.created_at, _context(item, waited, target), policy.weights, now
            )
            events.append(
                MessageTriaged(
                    occurred_at=now,
                    conversation_id=item.conversation_id,
                    message_id=item.message_id,
                    priority=conversation.priority,
                    sentiment=found.sentiment,
                    intent=found.intent,
                )
            )
        uow.messages.set_triage(results)
        uow.conversations.update_many(list(conversations.values()))
        uow.events.append(events)
        if then is not None:
            then(
                uow,
                [
                    Triaged(item.message_id, item.conversation_id, found)
                    for item, found in zip(inputs, signals, strict=True)
                ],
                now,
            )
        uow.commit()
    return len(inputs)


def rescore_waiting(
    uow_factory: UnitOfWorkFactory, *, now: datetime, policy: TriagePolicy, limit: int = 500
) -> int:
    """Raise the priority of conversations as their customers wait (scored over a minute ago)."""
    with uow_factory() as uow:
        stale = uow.conversations.stale_priorities(now - RESCORE_EVERY, limit)
        for conversation in stale:
            target = _target_minutes(policy.targets, conversation.first_response_at is not None)
            conversation.rescore(policy.weights, target, now)
        if stale:
            uow.conversations.update_many(stale)
        uow.commit()
    return len(stale)


def _context(item: TriageInput, waited: float, target: float) -> PriorityContext:
    return PriorityContext(
        followers=item.followers,
        verified=item.verified,
        vip=item.vip,
        waited_minutes=waited,
        target_minutes=target,
    )


def _target_minutes(targets: ResponseTargets, answered_before: bool) -> float:
    target = targets.next_response if answered_before else targets.first_response
    return target.total_seconds() / 60


def _waited_minutes(waiting_since: datetime | None, now: datetime) -> float:
    if waiting_since is None:
        return 0.0
    return max(0.0, (now - waiting_since).total_seconds() / 60)
