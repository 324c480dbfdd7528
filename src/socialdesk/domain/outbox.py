"""Outbox items: replies waiting to be sent to a platform, each under an idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from socialdesk.domain.messages import DeliveryState


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
    id: int | None = None
