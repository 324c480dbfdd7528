"""X Account Activity webhooks: the CRC handshake, the signature on every delivery, and the v1.1
tweet and DM objects they carry, turned into normalised messages.

Our own tweets and DMs come back as events too (author or sender = the subscribed account): they
are echoes of replies the outbox already stored, so they are counted and skipped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

from socialdesk.adapters.connectors.base import (
    as_utc,
    from_epoch_ms,
    load_json_object,
    same_secret,
)
from socialdesk.domain.connectors import (
    Delivery,
    MessageChange,
    PayloadInvalid,
    SignatureInvalid,
    WebhookRequest,
)
from socialdesk.domain.messages import Author, MessageKind, NormalisedMessage, Visibility

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
V1_TIME = "%a %b %d %H:%M:%S %z %Y"
# Activity we are told about but that needs no answer from a care desk.
QUIET_EVENTS = (
    "favorite_events",
    "follow_events",
    "unfollow_events",
    "block_events",
    "unblock_events",
    "mute_events",
    "unmute_events",
    "user_event",
    "direct_message_indicate_typing_events",
    "direct_message_mark_read_events",
)
ENVELOPE_KEYS = {"for_user_id", "user_has_blocked", "users", "apps", "source"}


def signature(secret: str, message: bytes) -> str:
    """`sha256=` + base64 of HMAC-SHA256 keyed with the consumer secret (CRC and deliveries)."""
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


def crc_response(secret: str, crc_token: str) -> dict[str, str]:
    return {"response_token": signature(secret, crc_token.encode("utf-8"))}


def verify(secret: str, request: WebhookRequest) -> None:
    given = request.header(SIGNATURE_HEADER)
    if given is None:
        raise SignatureInvalid(f"the delivery has no {SIGNATURE_HEADER} header")
    if not same_secret(given, signature(secret, request.body)):
        raise SignatureInvalid(
            f"the {SIGNATURE_HEADER} header does not match the body signed with this channel's "
            "consumer secret"
        )


def parse(channel_id: int, own_user_id: str | None, body: bytes) -> Delivery:
    payload = load_json_object(body)
    for_user = payload.get("for_user_id")
    if own_user_id and for_user is not None and str(for_user) != own_user_id:
        raise PayloadInvalid(
            f"the delivery is for X user {for_user}, but this channel is user {own_user_id}",
            field="for_user_id",
        )
    own = own_user_id or (str(for_user) if for_user is not None else None)
    delivery = Delivery()
    for key, value in payload.items():
        if key in ENVELOPE_KEYS:
            continue
        if key == "tweet_create_events":
            for i, tweet in enumerate(_events(value, key)):
                message = _tweet(channel_id, own, tweet, f"{key}[{i}]")
                if message is None:
                    delivery.ignore("echo" if _author_id(tweet) == own else "retweet")
                else:
                    delivery.messages.append(message)
        elif key == "direct_message_events":
            users = payload.get("users") if isinstance(payload.get("users"), dict) else {}
            for i, event in enumerate(_events(value, key)):
                message = _direct_message(channel_id, own, event, users or {}, f"{key}[{i}]")
                if message is None:
                    delivery.ignore("echo" if event.get("type") == "message_create" else "dm_other")
                else:
                    delivery.messages.append(message)
        elif key == "tweet_delete_events":
            for i, event in enumerate(_events(value, key)):
                status = event.get("status") if isinstance(event.get("status"), dict) else None
                if status is None or not status.get("id"):
                    raise PayloadInvalid(f"{key}[{i}] has no status.id", field=key)
                delivery.changes.append(
                    MessageChange(
                        channel_id,
                        str(status["id"]),
                        at=_epoch_ms(event.get("timestamp_ms"), f"{key}[{i}].timestamp_ms"),
                        removed=True,
                    )
                )
        elif key in QUIET_EVENTS:
            delivery.ignore(key, len(value) if isinstance(value, list) else 1)
        else:
            delivery.ignore(f"unknown:{key}")
    return delivery


def _events(value: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PayloadInvalid(f"{key} must be a list of objects", field=key)
    return value


def _epoch_ms(value: Any, where: str) -> datetime:
    try:
        return from_epoch_ms(value)
    except (TypeError, ValueError) as exc:
        raise PayloadInvalid(
            f"{where} is not a time in epoch milliseconds: {value!r}", field=where
        ) from exc


def _author_id(tweet: dict[str, Any]) -> str | None:
    user = tweet.get("user")
    if isinstance(user, dict) and (user.get("id_str") or user.get("id")):
        return str(user.get("id_str") or user.get("id"))
    return None


def _tweet(
    channel_id: int, own: str | None, tweet: dict[str, Any], where: str
) -> NormalisedMessage | None:
    tweet_id = tweet.get("id_str") or tweet.get("id")
    user = tweet.get("user")
    if not tweet_id or not isinstance(user, dict):
        raise PayloadInvalid(f"{where} needs id_str and a user object", field=where)
    author_id = _author_id(tweet)
    if author_id is None:
        raise PayloadInvalid(f"{where}.user has no id_str", field=where)
    if author_id == own or "retweeted_status" in tweet:
        return None
    text = _tweet_text(tweet)
    screen_name = str(user.get("screen_name") or author_id)
    created = tweet.get("created_at")
    try:
        # V1_TIME has %z, so the result is aware; as_utc shifts it (or refuses year 1 at +01:00).
        created_at = as_utc(datetime.strptime(str(created), V1_TIME)) if created else None  # noqa: DTZ007
    except ValueError as exc:
        raise PayloadInvalid(f"{where}.created_at is not X's time format: {created!r}") from exc
    reply_to = tweet.get("in_reply_to_status_id_str") or tweet.get("in_reply_to_status_id")
    return NormalisedMessage(
        channel_id=channel_id,
        external_id=str(tweet_id),
        text=text,
        created_at=created_at,
        kind=MessageKind.COMMENT if reply_to else MessageKind.POST,
        visibility=Visibility.PUBLIC,
        author=Author(
            external_id=author_id,
            handle=f"@{screen_name}",
            name=user.get("name"),
            followers=_optional_int(user.get("followers_count")),
            verified=bool(user.get("verified")),
        ),
        in_reply_to=str(reply_to) if reply_to else None,
        url=f"https://x.com/{screen_name}/status/{tweet_id}",
        meta=_compact({"lang": tweet.get("lang"), "source": "account_activity"}),
        raw=tweet,
    )


def _tweet_text(tweet: dict[str, Any]) -> str:
    extended = tweet.get("extended_tweet")
    if tweet.get("truncated") and isinstance(extended, dict) and extended.get("full_text"):
        return str(extended["full_text"])
    return str(tweet.get("full_text") or tweet.get("text") or "")


def _direct_message(
    channel_id: int,
    own: str | None,
    event: dict[str, Any],
    users: dict[str, Any],
    where: str,
) -> NormalisedMessage | None:
    if event.get("type") != "message_create":
        return None
    create = event.get("message_create")
    if not isinstance(create, dict) or not event.get("id"):
        raise PayloadInvalid(f"{where} needs id and message_create", field=where)
    sender = str(create.get("sender_id") or "")
    if not sender:
        raise PayloadInvalid(f"{where}.message_create has no sender_id", field=where)
    if sender == own:
        return None
    data: dict[str, Any] = create.get("message_data") or {}
    found = users.get(sender)
    profile: dict[str, Any] = found if isinstance(found, dict) else {}
    screen_name = profile.get("screen_name")
    return NormalisedMessage(
        channel_id=channel_id,
        external_id=str(event["id"]),
        text=str(data.get("text") or "") if isinstance(data, dict) else "",
        created_at=_epoch_ms(event.get("created_timestamp"), f"{where}.created_timestamp"),
        kind=MessageKind.DM,
        visibility=Visibility.PRIVATE,
        author=Author(
            external_id=sender,
            handle=f"@{screen_name}" if screen_name else None,
            name=profile.get("name"),
            followers=_optional_int(profile.get("followers_count")),
            verified=bool(profile.get("verified")) if profile else None,
        ),
        meta={"source": "account_activity"},
        raw=event,
    )


def _optional_int(value: Any) -> int | None:
    """A count as a BIGINT column holds it; None for what is none (`Infinity` is an
    OverflowError, `1e300` a number no column holds)."""
    try:
        number = int(value) if value is not None else None
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number is not None and abs(number) < 2**63 else None


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
