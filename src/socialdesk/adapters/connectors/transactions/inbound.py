"""The transactions webhook: the signature on every request, and the call records and chat
transcripts it carries, turned into normalised messages.

Signing. A request carries `X-Socialdesk-Timestamp` (unix seconds) and `X-Socialdesk-Signature:
sha256=<hex HMAC-SHA256 of "{timestamp}.{raw body}">` keyed with the channel's signing secret.
Binding the timestamp into the signature and refusing timestamps more than `TOLERANCE_SECONDS`
from this server's clock means a captured request cannot be replayed later; a replay inside the
window is a redelivery, which intake already turns into no change.

Reading. Phone and chat systems are written by integrators we never meet, so every field is
checked and every refusal names the record and field (`records[2].caller is not a phone number:
'12'`): the integrator reads the 400, fixes the sender, and an admin replays the quarantined body.
Nothing of a delivery is stored unless all of it can be.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from socialdesk.adapters.connectors.base import as_utc, check_tree, load_json, same_secret
from socialdesk.domain.connectors import (
    Delivery,
    PayloadInvalid,
    SignatureInvalid,
    WebhookRequest,
)
from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.messages import (
    Author,
    Direction,
    MessageKind,
    NormalisedMessage,
    Visibility,
)
from socialdesk.domain.text import text_problem

TIMESTAMP_HEADER = "X-Socialdesk-Timestamp"
SIGNATURE_HEADER = "X-Socialdesk-Signature"
# How far a request's timestamp may be from this server's clock, either way. Five minutes covers
# ordinary clock drift and retry delays while keeping a captured request useless soon after.
TOLERANCE_SECONDS = 300

MAX_RECORDS = 500
# Chat transcripts fan out into one message per line; intake stores a delivery in one
# transaction, so the whole delivery is bounded, not only the number of records.
MAX_MESSAGES = 2000
MAX_ID_LENGTH = 128
MAX_NAME_LENGTH = 200
MAX_DURATION_SECONDS = 7 * 24 * 3600  # a longer "call" is a unit mix-up (milliseconds?)
MAX_DEPTH = 20
DISPOSITIONS = ("answered", "missed", "voicemail", "abandoned", "busy")
# What phone systems put where a caller's number is withheld (SIP "anonymous", carriers'
# "restricted"/"unavailable"). Such a call is real and must not sink the whole delivery.
WITHHELD = frozenset({"anonymous", "private", "restricted", "unavailable", "unknown", "withheld"})
CHAT_THREAD_PREFIX = "chat:"


# -- signing --------------------------------------------------------------------------------


def signature(secret: str, timestamp: str | int, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of `{timestamp}.{body}` keyed with the signing secret."""
    message = f"{timestamp}.".encode("ascii") + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers that sign `body` now (or at `timestamp`): what senders, the desk's own
    chat replies and tests attach."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: signature(secret, stamp, body)}


def verify(secret: str, request: WebhookRequest, now: float | None = None) -> None:
    """SignatureInvalid unless the request is signed with `secret` within the time window.

    The connector has no clock of its own (services hold the desk's clock, and it may be frozen
    in tests), while replay protection must compare with real time: `now` defaults to
    `time.time()` and is a parameter only so the window can be tested at its edges.
    """
    stamp = request.header(TIMESTAMP_HEADER)
    given = request.header(SIGNATURE_HEADER)
    if stamp is None:
        raise SignatureInvalid(
            f"the request has no {TIMESTAMP_HEADER} header; sign every request with "
            f"{TIMESTAMP_HEADER} (unix seconds) and {SIGNATURE_HEADER}"
        )
    if given is None:
        raise SignatureInvalid(
            f"the request has no {SIGNATURE_HEADER} header; it must be sha256= followed by the "
            "hex HMAC-SHA256 of '{timestamp}.{body}' keyed with the channel's signing secret"
        )
    stamp = stamp.strip()
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        raise SignatureInvalid(f"{TIMESTAMP_HEADER} must be whole unix seconds, like 1767225600")
    if not same_secret(given.strip().lower(), signature(secret, stamp, request.body)):
        raise SignatureInvalid(
            f"the {SIGNATURE_HEADER} header does not match '{{timestamp}}.{{body}}' signed with "
            "this channel's signing secret (sign the exact bytes sent, with the timestamp header's "
            "value)"
        )
    skew = (time.time() if now is None else now) - int(stamp)
    if abs(skew) > TOLERANCE_SECONDS:
        when = "old" if skew > 0 else "ahead of this server's clock"
        raise SignatureInvalid(
            f"the {TIMESTAMP_HEADER} is {abs(int(skew))} seconds {when}; requests more than "
            f"{TOLERANCE_SECONDS} seconds from now are refused as possible replays (check the "
            "sender's clock, and sign each attempt afresh)"
        )


# -- reading ----------------------------------------------------------------------------------


def check_region(region: str) -> str:
    """The channel's default region for numbers without a country code, as phonenumbers knows
    it; InvalidInput (a set-up problem, not a bad delivery) otherwise."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(
            f"the channel setting default_region is {region!r}, which is not a region code; "
            "use a two-letter code such as US, GB or DE",
            field="default_region",
        )
    return code


def parse(channel_id: int, platform: str, region: str, body: bytes) -> Delivery:
    """The messages in a verified delivery to a phone or chat channel; PayloadInvalid naming the
    record and field when any part cannot be read, so nothing is half-stored."""
    payload = load_json(body)
    records, single = _records(payload)
    delivery = Delivery()
    for index, record in enumerate(records):
        where = "record" if single else f"records[{index}]"
        check_tree(record, where, MAX_DEPTH)
        fields = _Fields(record, where)
        kind = record.get("type")
        if kind not in ("call", "chat"):
            raise fields.problem("type", f"must be call or chat, not {_shown(kind)}")
        expected = "call" if platform == "phone" else "chat"
        if kind != expected:
            raise PayloadInvalid(
                f"{where} is a {kind} record, but channel {channel_id} is a {platform} channel; "
                f"post {kind} records to the webhook of a {'phone' if kind == 'call' else 'chat'} "
                "channel",
                field=f"{where}.type",
            )
        if kind == "call":
            delivery.messages.append(_call(channel_id, region, fields))
        else:
            delivery.messages.extend(_chat(channel_id, fields, delivery))
        if len(delivery.messages) > MAX_MESSAGES:
            raise PayloadInvalid(
                f"the delivery carries more than {MAX_MESSAGES} messages (call records and chat "
                "lines together); send fewer records per request"
            )
    return delivery


def _records(payload: Any) -> tuple[list[dict[str, Any]], bool]:
    """The records of a delivery, and whether it was one bare record (so errors say `record`)."""
    if not isinstance(payload, dict):
        raise PayloadInvalid(
            'the body must be a JSON object: one record, or {"records": [ ... ]}, '
            f"not {_kind(payload)}"
        )
    if "records" not in payload:
        if "type" in payload:
            return [payload], True
        raise PayloadInvalid(
            'the body must be one record (with "type": "call" or "chat") or {"records": [ ... ]}',
            field="records",
        )
    records = payload["records"]
    if not isinstance(records, list):
        raise PayloadInvalid(
            f"records must be a list of record objects, not {_kind(records)}", field="records"
        )
    if not 1 <= len(records) <= MAX_RECORDS:
        raise PayloadInvalid(
            f"records has {len(records)} items; send 1 to {MAX_RECORDS} records per request",
            field="records",
        )
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise PayloadInvalid(
                f"records[{index}] must be an object, not {_kind(record)}",
                field=f"records[{index}]",
            )
    return records, False


@dataclass(frozen=True, slots=True)
class _Fields:
    """Typed reads of one JSON object, each refusal naming `where.field`."""

    data: Mapping[str, Any]
    where: str

    def problem(self, key: str, what: str) -> PayloadInvalid:
        return PayloadInvalid(f"{self.where}.{key} {what}", field=f"{self.where}.{key}")

    def text(self, key: str, *, limit: int | None = None) -> str:
        value = self.optional_text(key, limit=limit)
        if value is None:
            raise self.problem(key, "is missing" if self.data.get(key) is None else "is empty")
        return value

    def optional_text(self, key: str, *, limit: int | None = None) -> str | None:
        """A string without surrounding blank space; None when absent, null or blank (senders
        fill optional fields with "" as often as they leave them out)."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.problem(key, f"must be a string, not {_kind(value)}")
        value = value.strip()
        if limit is not None and len(value) > limit:
            raise self.problem(key, f"is {len(value)} characters; at most {limit}")
        return value or None

    def ident(self, key: str) -> str:
        """An id: a string or a whole number (many systems number their calls and chats)."""
        value = self.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if value is not None and not isinstance(value, str):
            raise self.problem(key, f"must be a string or a whole number, not {_kind(value)}")
        return self.text(key, limit=MAX_ID_LENGTH)

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.data.get(key)
        if value not in choices:
            if value is None:
                raise self.problem(key, f"is missing; it must be {_either(choices)}")
            raise self.problem(key, f"must be {_either(choices)}, not {_shown(value)}")
        return str(value)

    def moment(self, key: str) -> datetime:
        value = self.optional_moment(key)
        if value is None:
            raise self.problem(key, "is missing")
        return value

    def optional_moment(self, key: str) -> datetime | None:
        """An ISO 8601 time with its UTC offset, as timezone-aware UTC. A time without an offset
        is refused: guessing the sender's zone would shift every record by hours."""
        raw = self.optional_text(key, limit=64)
        if raw is None:
            return None
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise self.problem(key, f"is not an ISO 8601 time: {raw!r}") from exc
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise self.problem(
                key, f"has no UTC offset: {raw!r}; add Z or +hh:mm, e.g. 2026-03-02T09:15:00Z"
            )
        try:
            return as_utc(parsed)
        except ValueError as exc:
            raise self.problem(key, f"is outside years 1-9999 in UTC: {raw!r}") from exc

    def seconds(self, key: str) -> int:
        value = self.data.get(key)
        if value is None:
            raise self.problem(key, "is missing")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.problem(key, f"must be a whole number of seconds, not {_shown(value)}")
        if not 0 <= value <= MAX_DURATION_SECONDS:
            raise self.problem(key, f"must be between 0 and {MAX_DURATION_SECONDS}, not {value}")
        return value

    def web_address(self, key: str) -> str | None:
        value = self.optional_text(key, limit=2000)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
            raise self.problem(key, f"is not an http(s) address: {value!r}")
        return value

    def email(self, key: str) -> str | None:
        value = self.optional_text(key, limit=320)
        if value is None:
            return None
        local, at, domain = value.rpartition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in value):
            raise self.problem(key, f"is not an e-mail address: {value!r}")
        return value.lower()

    def child(self, key: str) -> _Fields:
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise self.problem(
                key, "is missing" if value is None else f"must be an object, not {_kind(value)}"
            )
        return _Fields(value, f"{self.where}.{key}")

    def objects(self, key: str) -> list[_Fields]:
        value = self.data.get(key)
        if not isinstance(value, list) or not value:
            raise self.problem(key, "must be a non-empty list of objects")
        found = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise PayloadInvalid(
                    f"{self.where}.{key}[{index}] must be an object, not {_kind(item)}",
                    field=f"{self.where}.{key}",
                )
            found.append(_Fields(item, f"{self.where}.{key}[{index}]"))
        return found


# -- calls ------------------------------------------------------------------------------------


def _call(channel_id: int, region: str, fields: _Fields) -> NormalisedMessage:
    """One call record: one private CALL message whose party is the customer's number."""
    call_id = fields.ident("id")
    direction = fields.choice("direction", ("inbound", "outbound"))
    inbound = direction == "inbound"
    caller = fields.text("caller", limit=64)
    callee = fields.text("callee", limit=64)
    started_at = fields.moment("started_at")
    duration = fields.seconds("duration_seconds")
    disposition = fields.choice("disposition", DISPOSITIONS)
    name = fields.optional_text("caller_name" if inbound else "callee_name", limit=MAX_NAME_LENGTH)
    agent = fields.optional_text("agent", limit=MAX_NAME_LENGTH)
    notes = fields.optional_text("notes")
    transcript = fields.optional_text("transcript")
    recording_url = fields.web_address("recording_url")

    customer_key = "caller" if inbound else "callee"
    customer_raw, line_raw = (caller, callee) if inbound else (callee, caller)
    if customer_raw.lower() in WITHHELD:
        # Each withheld call is its own unknown person: merging them would build one "customer"
        # out of everybody who hides their number.
        party = Author(
            external_id=f"withheld:{channel_id}:{call_id}", name=name or "Withheld number"
        )
    else:
        number = phone_number(customer_raw, region)
        if number is None:
            raise fields.problem(customer_key, f"is not a phone number: {customer_raw!r}")
        party = Author(external_id=number, handle=number, name=name)
    # The brand's side may be an extension ("2001"): kept as a number when it is one.
    line = phone_number(line_raw, region) or line_raw

    text = "\n\n".join(
        part
        for part in (
            call_summary(direction, duration, disposition),
            f"Notes: {notes}" if notes else None,
            f"Transcript:\n{transcript}" if transcript else None,
        )
        if part
    )
    problem = text_problem(text)
    if problem is not None:
        raise PayloadInvalid(
            f"{fields.where}: the summary, notes and transcript together {problem}",
            field=f"{fields.where}.transcript",
        )
    meta: dict[str, Any] = {
        "direction": direction,
        "duration_seconds": duration,
        "disposition": disposition,
        "line": line,
        "call_id": call_id,
    }
    meta.update(
        {k: v for k, v in (("agent", agent), ("recording_url", recording_url)) if v is not None}
    )
    return NormalisedMessage(
        channel_id=channel_id,
        external_id=f"call:{call_id}",
        text=text,
        created_at=started_at,
        direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
        kind=MessageKind.CALL,
        visibility=Visibility.PRIVATE,
        author=party if inbound else None,
        recipient=None if inbound else party,
        url=recording_url,
        meta=meta,
        raw=dict(fields.data),
    )


def phone_number(value: str, region: str) -> str | None:
    """The number in E.164 (+15551234567), or None when it is not a dialable phone number.

    Possible (right length for its country), not valid (in an assigned range): fictional 555
    numbers and new ranges are real to the phone system that sent them. Numbers possible only
    locally (seven US digits without an area code) are refused: they cannot be called back and
    would not match the same person's full number.
    """
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def call_summary(direction: str, duration: int, disposition: str) -> str:
    """The line an agent reads in the queue: "Inbound call, 2 min 3 s, answered"."""
    parts = [f"{direction.capitalize()} call"]
    if duration > 0:
        parts.append(spoken_duration(duration))
    parts.append(disposition)
    return ", ".join(parts)


def spoken_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)


# -- chats ------------------------------------------------------------------------------------


def _chat(channel_id: int, fields: _Fields, delivery: Delivery) -> list[NormalisedMessage]:
    """One transcript: a CHAT message per line, in time order, all in one conversation.

    Visitor lines are inbound, agent lines outbound to the visitor, so the conversation's first
    response time is the agent's real one. System lines ("Visitor left the chat") are counted as
    ignored. Each message keeps the record without the other lines as its raw event, so a
    transcript of n lines is stored once, not n times.
    """
    chat_id = fields.ident("id")
    who = fields.child("visitor")
    visitor = Author(
        external_id=who.ident("id"),
        name=who.optional_text("name", limit=MAX_NAME_LENGTH),
        email=who.email("email"),
    )
    started_at = fields.moment("started_at")
    ended_at = fields.optional_moment("ended_at")
    if ended_at is not None and ended_at < started_at:
        raise fields.problem("ended_at", "is before started_at")
    envelope = {k: v for k, v in fields.data.items() if k != "messages"}
    lines: list[tuple[datetime, int, NormalisedMessage]] = []
    seen: dict[str, str] = {}
    for index, line in enumerate(fields.objects("messages")):
        line_id = line.ident("id")
        if line_id in seen:
            raise line.problem("id", f"repeats {seen[line_id]}.id: {line_id!r}")
        seen[line_id] = line.where
        sender = line.choice("from", ("visitor", "agent", "system"))
        text = line.text("text")
        at = line.moment("at")
        if sender == "system":
            delivery.ignore("chat_system_line")
            continue
        inbound = sender == "visitor"
        meta: dict[str, Any] = {"chat_id": chat_id, "chat_message_id": line_id}
        agent = line.optional_text("agent", limit=MAX_NAME_LENGTH)
        if agent is not None:
            meta["agent"] = agent
        message = NormalisedMessage(
            channel_id=channel_id,
            external_id=chat_external_id(chat_id, line_id),
            text=text,
            created_at=at,
            direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
            kind=MessageKind.CHAT,
            visibility=Visibility.PRIVATE,
            author=visitor if inbound else None,
            recipient=None if inbound else visitor,
            thread_key=CHAT_THREAD_PREFIX + chat_id,
            meta=meta,
            raw={**envelope, "messages": [dict(line.data)]},
        )
        lines.append((at, index, message))
    return [message for _, _, message in sorted(lines, key=lambda found: found[:2])]


def chat_external_id(chat_id: str, message_id: str) -> str:
    """A chat line's message id at the desk: chat systems number lines per chat."""
    return f"chat:{chat_id}:{message_id}"


# -- wording ----------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value[:60])
    return _kind(value)


def _either(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1]
