"""What passes between the desk and a platform connector, in the desk's own terms.

A connector (one package per platform under `adapters/connectors/`) turns a platform's webhook
deliveries and API pages into `Delivery`s of normalised messages, and an `OutboundReply` into a
post, comment reply or private message on the platform. These types are plain data so services
can drive any connector and tests can drive services without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from socialdesk.domain.errors import InvalidInput, Unauthorized
from socialdesk.domain.messages import NormalisedMessage


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A webhook call as it arrived: header names lower-cased, the body as raw bytes (signatures
    are computed over the exact bytes, never over re-serialised JSON)."""

    method: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    """What to answer a handshake (X's CRC, Meta's verification) or a delivery with."""

    status: int = 200
    body: str = ""
    media_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class MessageChange:
    """A platform edited or removed a message we stored (Facebook feed `edited` / `remove`)."""

    channel_id: int
    external_id: str
    at: datetime
    text: str | None = None
    removed: bool = False


@dataclass(slots=True)
class Delivery:
    """What one webhook delivery or one poll brought: new messages, changes to stored ones, and
    counts of the event types that were deliberately ignored (echoes, read receipts, unknown)."""

    messages: list[NormalisedMessage] = field(default_factory=list)
    changes: list[MessageChange] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)

    def ignore(self, kind: str, count: int = 1) -> None:
        self.ignored[kind] = self.ignored.get(kind, 0) + count

    def extend(self, other: Delivery) -> None:
        self.messages.extend(other.messages)
        self.changes.extend(other.changes)
        for kind, count in other.ignored.items():
            self.ignore(kind, count)


@dataclass(slots=True)
class QuarantinedDelivery:
    """A signed delivery we could not read, kept as received so an admin can look at it and
    replay it once the connector (or the platform) is fixed."""

    connector: str
    received_at: datetime
    reason: str
    headers: dict[str, str]
    body: bytes
    channel_id: int | None = None
    query: dict[str, str] = field(default_factory=dict)
    replayed_at: datetime | None = None
    replay_result: str | None = None
    id: int | None = None

    def request(self) -> WebhookRequest:
        return WebhookRequest("POST", dict(self.query), dict(self.headers), self.body)


class ReplyMode(StrEnum):
    """How an answer reaches the customer."""

    PUBLIC_REPLY = "public_reply"  # under their post, visible to everyone
    PRIVATE_MESSAGE = "private_message"  # a DM / Messenger message / e-mail
    PRIVATE_REPLY = "private_reply"  # a private message that answers a public comment (Meta)


@dataclass(frozen=True, slots=True)
class OutboundReply:
    """One reply to deliver, with everything the connector needs to address it.

    `in_reply_to` is the platform id of the customer's message being answered; `recipient_id` the
    customer's platform id (X user id, PSID, e-mail address); `thread_key` the platform's
    conversation id when it has one; `references` the e-mail thread. `idempotency_key` is stable
    across attempts, so a connector can tag or look up its earlier attempt.
    """

    idempotency_key: str
    text: str
    mode: ReplyMode
    created_at: datetime
    in_reply_to: str | None = None
    recipient_id: str | None = None
    recipient_handle: str | None = None
    thread_key: str | None = None
    subject: str | None = None
    references: tuple[str, ...] = ()
    last_inbound_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """The platform's id for what we posted (so a webhook echo of it dedupes) and its link."""

    platform_message_id: str
    url: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class SendError(Exception):
    """A platform refused or failed a send. `retryable` errors (429, 5xx, throttling codes,
    network failures) are tried again after `retry_after` seconds when the platform said, else
    after a backoff; the others fail the reply at once with `message` shown to the agent.
    `maybe_posted` says the platform may have posted it anyway (a 5xx, a timeout after sending).
    The platform's own wait is `retry_after` seconds or, for rate-limit windows, `retry_at`."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        maybe_posted: bool = False,
        retry_after: float | None = None,
        retry_at: datetime | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.maybe_posted = maybe_posted
        self.retry_after = retry_after
        self.retry_at = retry_at
        self.status = status
        self.code = code


class SignatureInvalid(Unauthorized):
    """A webhook delivery whose signature is missing or wrong: answered 401, nothing stored."""

    code = "signature_invalid"


class HandshakeRefused(Unauthorized):
    """A webhook verification request (CRC, hub.verify_token) that does not prove it knows our
    secret: answered 403."""

    code = "handshake_refused"


class PayloadInvalid(InvalidInput):
    """A correctly signed delivery we cannot read: answered 400 and quarantined for replay."""

    code = "payload_invalid"
