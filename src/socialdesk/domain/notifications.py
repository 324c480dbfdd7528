"""Escalations to people and systems outside the desk (PR, legal, marketing): a playbook's
`notify`, an SLA warning or breach. Each is a row sent by the worker by webhook or e-mail, once
per `dedupe_key` (a rule firing again for the same message does not notify twice), retried with
backoff, and kept with its outcome."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from socialdesk.domain.outbox import MAX_ATTEMPTS, retry_delay

WEBHOOK = "webhook"
EMAIL = "email"
QUEUED, SENT, FAILED = "queued", "sent", "failed"


@dataclass(slots=True)
class Notification:
    kind: str  # webhook | email
    target: str  # the escalation target's name (pr, legal, …)
    destination: str  # the URL or the address
    payload: dict[str, Any]
    dedupe_key: str
    created_at: datetime
    conversation_id: int | None = None
    state: str = QUEUED
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    id: int | None = None

    def sent(self, now: datetime) -> None:
        self.state, self.sent_at, self.last_error, self.next_attempt_at = SENT, now, None, None

    def failed(
        self,
        error: str,
        now: datetime,
        *,
        retryable: bool,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.last_error = error
        if not retryable or self.attempts >= MAX_ATTEMPTS:
            self.state, self.next_attempt_at = FAILED, None
            return
        self.state = QUEUED
        self.next_attempt_at = now + retry_delay(
            self.attempts, now, retry_after=retry_after, rng=rng
        )
