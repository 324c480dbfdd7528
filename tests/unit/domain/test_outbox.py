"""Outbox item arithmetic: backoff grows with jitter, the platform's wait wins, the last attempt
fails."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from socialdesk.domain.messages import DeliveryState
from socialdesk.domain.outbox import BASE_BACKOFF, MAX_ATTEMPTS, MAX_BACKOFF, OutboxItem

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def item(attempts: int) -> OutboxItem:
    return OutboxItem(1, 1, 1, "key-12345", T0, state=DeliveryState.SENDING, attempts=attempts)


@given(st.integers(min_value=1, max_value=MAX_ATTEMPTS - 1), st.integers(0, 2**32))
def test_backoff_is_jittered_within_its_doubling_ceiling(attempts: int, seed: int) -> None:
    it = item(attempts)
    it.attempt_failed("x", T0, retryable=True, maybe_posted=False, rng=random.Random(seed))
    ceiling = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** (attempts - 1))
    assert it.state is DeliveryState.QUEUED
    assert it.next_attempt_at is not None
    assert ceiling / 2 <= it.next_attempt_at - T0 <= ceiling


def test_the_platforms_wait_wins() -> None:
    it = item(1)
    it.attempt_failed("x", T0, retryable=True, maybe_posted=False, retry_after=90)
    assert it.next_attempt_at == T0 + timedelta(seconds=90)
    it = item(1)
    reset = T0 + timedelta(minutes=15)
    it.attempt_failed("x", T0, retryable=True, maybe_posted=False, retry_at=reset)
    assert it.next_attempt_at == reset


def test_the_last_attempt_or_a_refusal_fails() -> None:
    last = item(MAX_ATTEMPTS)
    last.attempt_failed("x", T0, retryable=True, maybe_posted=True)
    assert (last.state, last.next_attempt_at, last.in_doubt) == (DeliveryState.FAILED, None, True)
    refused = item(1)
    refused.attempt_failed("no", T0, retryable=False, maybe_posted=False)
    assert refused.state is DeliveryState.FAILED


def test_sent_clears_doubt_and_error() -> None:
    it = OutboxItem(1, 1, 1, "key-12345", T0, attempts=2, in_doubt=True, last_error="timeout")
    it.sent("p-9", T0)
    assert it.state is DeliveryState.SENT
    assert (it.platform_message_id, it.in_doubt, it.last_error, it.sent_at) == (
        "p-9",
        False,
        None,
        T0,
    )
