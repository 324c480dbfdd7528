"""Messages: what customers send, what we answer, what agents note; and the normalised form.

A `NormalisedMessage` is what every source (webhook parser, poller, importer, REST client) turns its
payload into before intake. A `Message` is what the desk stores: unique on (channel, external_id).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NOTE = "note"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class MessageKind(StrEnum):
    """What the message is on its platform; decides default visibility and threading."""

    POST = "post"
    COMMENT = "comment"
    DM = "dm"
    EMAIL = "email"
    CHAT = "chat"
    CALL = "call"
    SMS = "sms"
    REVIEW = "review"
    NOTE = "note"

    @property
    def default_visibility(self) -> Visibility:
        if self in (MessageKind.POST, MessageKind.COMMENT, MessageKind.REVIEW):
            return Visibility.PUBLIC
        return Visibility.PRIVATE

    @property
    def threads_by_participant(self) -> bool:
        """Private conversations without thread ids (DMs, chats, calls, SMS) thread by who writes."""
        return self in (MessageKind.DM, MessageKind.CHAT, MessageKind.CALL, MessageKind.SMS)


class DeliveryState(StrEnum):
    """Where an outbound reply is on its way to the platform."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Author:
    """A platform account as a message names it, with the profile facts the platform gave."""

    external_id: str
    handle: str | None = None
    name: str | None = None
    followers: int | None = None
    verified: bool | None = None
    email: str | None = None


_AUTHOR_FIELDS = tuple(f.name for f in fields(Author))


@dataclass(frozen=True, slots=True)
class NormalisedMessage:
    """One message from any source, in the desk's terms.

    For inbound messages `author` is the customer who wrote. For outbound messages (brand replies
    made outside the desk, imported history, outbound calls) `recipient` may name the customer when
    there is no `in_reply_to` to thread by. `references` are e-mail References; `thread_key` is a
    platform conversation id when the platform has one.
    """

    channel_id: int
    external_id: str
    text: str
    created_at: datetime | None = None
    direction: Direction = Direction.INBOUND
    kind: MessageKind = MessageKind.POST
    visibility: Visibility | None = None
    author: Author | None = None
    recipient: Author | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    thread_key: str | None = None
    subject: str | None = None
    url: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    raw: Any = None

    @property
    def effective_visibility(self) -> Visibility:
        return self.visibility or self.kind.default_visibility

    @property
    def customer_party(self) -> Author | None:
        """The customer this message is from (inbound) or to (outbound)."""
        return self.author if self.direction is Direction.INBOUND else self.recipient

    def as_record(self) -> dict[str, Any]:
        """The message as plain JSON-ready data: what the raw event log keeps when the source
        gave no payload of its own."""
        record: dict[str, Any] = {
            "channel_id": self.channel_id,
            "external_id": self.external_id,
            "direction": self.direction.value,
            "kind": self.kind.value,
            "text": self.text,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }
        for name in ("author", "recipient"):
            party = getattr(self, name)
            if party is not None:
                record[name] = {
                    k: v for k in _AUTHOR_FIELDS if (v := getattr(party, k)) is not None
                }
        optional = {
            "visibility": self.visibility.value if self.visibility else None,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references) or None,
            "thread_key": self.thread_key,
            "subject": self.subject,
            "url": self.url,
            "meta": self.meta or None,
        }
        record.update({k: v for k, v in optional.items() if v is not None})
        return record

    def threading_refs(self) -> list[str]:
        """External ids of earlier messages this one answers, nearest first."""
        refs = [self.in_reply_to] if self.in_reply_to else []
        refs.extend(r for r in reversed(self.references) if r not in refs)
        return refs

    def participant_thread_key(self) -> str | None:
        """The key DMs, chats and calls thread by when the platform gives no conversation id."""
        if self.thread_key:
            return self.thread_key
        party = self.customer_party
        if self.kind.threads_by_participant and party is not None:
            return f"participant:{self.kind.value}:{party.external_id}"
        return None


@dataclass(slots=True)
class Message:
    conversation_id: int | None
    channel_id: int
    direction: Direction
    visibility: Visibility
    kind: MessageKind
    text: str
    created_at: datetime
    received_at: datetime
    external_id: str | None = None
    author_identity_id: int | None = None
    author_agent_id: int | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    subject: str | None = None
    url: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    delivery_state: DeliveryState | None = None
    delivery_error: str | None = None
    raw_event_id: int | None = None
    triage: dict[str, Any] | None = None
    playbook: dict[str, Any] | None = None
    id: int | None = None


@dataclass(slots=True)
class RawEvent:
    """What arrived, kept verbatim before anything was made of it."""

    source: str
    received_at: datetime
    payload: Any
    channel_id: int | None = None
    id: int | None = None
