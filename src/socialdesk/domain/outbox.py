"""Outbox items: replies waiting to be sent to a platform, each under an idempotency key.

An item is `queued` until a worker claims it (`sending`), then `sent` with the platform's id, back
to `queued` with a later `next_attempt_at` after a failure worth retrying, or `failed` after the
last attempt or a refusal, with the platform's error for the agent, who may retry by hand.
`in_doubt` says an attempt may have reached the platform without us recording it (a crash, a
timeout, a 5xx): before posting again the worker asks the platform whether it already has it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from socialdesk.domain.messages import DeliveryState

MAX_ATTEMPTS = 3
BASE_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=15)


@dataclass(slots=True)
class OutboxItem:
    """One reply to deliver. `idempotency_key` makes a retried request or a resend a no-op."""

    message_id: int
    conversation_id: int
    channel_id: int
    idempotency_key: str
    created_at: datetime
    state: DeliveryState = DeliveryState.QUEUED
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    platform_message_id: str | None = None
    claimed_at: datetime | None = None
    in_doubt: bool = False
    sent_at: datetime | None = None
    id: int | None = None

    def sent(self, platform_message_id: str, now: datetime) -> None:
        self.state = DeliveryState.SENT
        self.platform_message_id = platform_message_id
        self.sent_at = now
        self.claimed_at = None
        self.in_doubt = False
        self.last_error = None

    def attempt_failed(
        self,
        error: str,
        now: datetime,
        *,
        retryable: bool,
        maybe_posted: bool,
        retry_after: float | None = None,
        retry_at: datetime | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Schedule the next attempt (exponential backoff with jitter, or the platform's own wait:
        `retry_after` seconds or `retry_at`), or fail the item when it may not be retried or this
        was the last try."""
        self.last_error = error
        self.claimed_at = None
        self.in_doubt = maybe_posted
        if not retryable or self.attempts >= MAX_ATTEMPTS:
            self.state = DeliveryState.FAILED
            self.next_attempt_at = None
            return
        self.state = DeliveryState.QUEUED
        if retry_after is not None:
            delay = timedelta(seconds=max(0.0, retry_after))
        elif retry_at is not None:
            delay = max(timedelta(0), retry_at - now)
        else:
            ceiling = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** (self.attempts - 1))
            delay = ceiling * (0.5 + 0.5 * (rng or random).random())
        self.next_attempt_at = now + delay

    def retry_by_hand(self, now: datetime) -> None:
        """An agent asked to try a failed reply again: a fresh round of attempts."""
        self.state = DeliveryState.QUEUED
        self.attempts = 0
        self.next_attempt_at = now
        self.last_error = None


def retry_delay(
    attempts: int,
    now: datetime,
    *,
    retry_after: float | None = None,
    retry_at: datetime | None = None,
    rng: random.Random | None = None,
) -> timedelta:
    """How long to wait before the next attempt: the other side's own wait when it gave one,
    else exponential backoff (5 s, 10 s, 20 s … up to 15 min) with jitter, so many failed sends
    do not all come back at the same moment."""
    if retry_after is not None:
        return timedelta(seconds=max(0.0, retry_after))
    if retry_at is not None:
        return max(timedelta(0), retry_at - now)
    ceiling: timedelta = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** (max(1, attempts) - 1))
    jitter: float = 0.5 + 0.5 * (rng or random).random()
    return ceiling * jitter
