"""Escalations out of the desk: queued in the same transaction as what caused them, sent by the
worker by webhook or e-mail, at least once, retried with backoff, failures kept with the reason."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from socialdesk.domain.connectors import SendError
from socialdesk.domain.notifications import EMAIL, FAILED, WEBHOOK, Notification
from socialdesk.services.ports import Notifier, UnitOfWork, UnitOfWorkFactory

LEASE = timedelta(minutes=2)
BATCH = 20


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a named escalation target is reached: a webhook URL and/or e-mail addresses."""

    target: str
    webhook: str | None = None
    emails: tuple[str, ...] = ()


@dataclass(slots=True)
class NotifyReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def enqueue(
    uow: UnitOfWork,
    destination: Destination,
    payload: dict[str, Any],
    *,
    key: str,
    now: datetime,
    conversation_id: int | None,
) -> int:
    """Queue one notification per way of reaching the target, inside the caller's unit; `key`
    makes a repeat (the same rule on the same message) a no-op. Returns how many were queued."""
    ways = [(WEBHOOK, destination.webhook)] if destination.webhook else []
    ways += [(EMAIL, address) for address in destination.emails]
    queued = 0
    for kind, where in ways:
        assert where is not None
        notification = Notification(
            kind=kind,
            target=destination.target,
            destination=where,
            payload=payload,
            dedupe_key=f"{key}:{kind}:{where}"[:200],
            created_at=now,
            conversation_id=conversation_id,
            next_attempt_at=now,
        )
        queued += int(uow.notifications.add(notification))
    return queued


def deliver_notifications(
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    *,
    now: datetime,
    rng: random.Random | None = None,
) -> NotifyReport:
    report = NotifyReport()
    with uow() as unit:
        due = unit.notifications.claim_due(now, LEASE, BATCH)
        unit.commit()
    for notification in due:
        try:
            notifier.send(notification)
        except SendError as exc:
            notification.failed(
                exc.message, now, retryable=exc.retryable, retry_after=exc.retry_after, rng=rng
            )
            if notification.state == FAILED:
                report.failed += 1
            else:
                report.retrying += 1
        else:
            notification.sent(now)
            report.sent += 1
        with uow() as unit:
            unit.notifications.update(notification)
            unit.commit()
    return report
