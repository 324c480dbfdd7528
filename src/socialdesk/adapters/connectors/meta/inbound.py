"""Meta webhooks: the hub.challenge verification, the X-Hub-Signature-256 on every delivery, and
the Page (`object: page`) and Instagram (`object: instagram`) envelopes they carry.

One Meta app sends every subscribed object to one callback, so a delivery names its object and,
per entry, the Page or Instagram account it is about; both must be this channel's, or the
delivery is refused (400, quarantined) rather than filed under the wrong brand. Our own comments
and Send API messages come back too (from the Page / `is_echo`): the outbox stored them already,
so they are counted and skipped.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from socialdesk.adapters.connectors.base import as_utc, from_epoch, load_json_object, same_secret
from socialdesk.domain.connectors import (
    Delivery,
    HandshakeRefused,
    MessageChange,
    PayloadInvalid,
    SendError,
    SignatureInvalid,
    WebhookRequest,
    WebhookResponse,
)
from socialdesk.domain.errors import DomainError
from socialdesk.domain.messages import Author, MessageKind, NormalisedMessage, Visibility

SIGNATURE_HEADER = "x-hub-signature-256"
OBJECTS = {"facebook": "page", "instagram": "instagram"}
GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"
# Feed items that are a visitor's post on the Page (a comment is `comment`).
POST_ITEMS = {"status", "post", "photo", "video", "share", "link"}
ADDED, EDITED, REMOVED = {"add"}, {"edited", "edit"}, {"remove", "delete"}
# Messenger / Instagram messaging events that need no answer from a care desk.
QUIET_MESSAGING = (
    "delivery",
    "read",
    "reaction",
    "postback",
    "optin",
    "referral",
    "account_linking",
    "policy_enforcement",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "app_roles",
)
ENVELOPE = {"sender", "recipient", "timestamp"}
MS_THRESHOLD = 100_000_000_000  # epoch values above this are milliseconds (year 5138 in seconds)

# Looks up an Instagram object (a mentioned comment or media) through the Graph API; raises
# SendError or a DomainError when it cannot.
Lookup = Callable[[str, str], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Account:
    """The channel a delivery must be for: its platform and the Page / IG account id."""

    channel_id: int
    platform: str
    own_id: str

    @property
    def object(self) -> str:
        return OBJECTS[self.platform]


def signature(app_secret: str, body: bytes) -> str:
    """`sha256=` + lower-case hex HMAC-SHA256 of the exact body, keyed with the app secret."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def verify(app_secret: str, request: WebhookRequest) -> None:
    given = request.header(SIGNATURE_HEADER)
    if given is None:
        raise SignatureInvalid(
            f"the delivery has no {SIGNATURE_HEADER} header; Meta signs every delivery with the "
            "app secret"
        )
    if not same_secret(given.strip().lower(), signature(app_secret, request.body)):
        raise SignatureInvalid(
            f"the {SIGNATURE_HEADER} header does not match the body signed with this channel's "
            "app_secret"
        )


def handshake(verify_token: str, query: dict[str, str]) -> WebhookResponse:
    """Meta's subscription check: echo `hub.challenge` as it came when the token is ours."""
    if query.get("hub.mode") != "subscribe":
        raise HandshakeRefused("a Meta verification request needs hub.mode=subscribe")
    if not same_secret(query.get("hub.verify_token"), verify_token):
        raise HandshakeRefused(
            "hub.verify_token does not match this channel's verify_token setting"
        )
    challenge = query.get("hub.challenge")
    if not challenge:
        raise HandshakeRefused("a Meta verification request needs a hub.challenge to echo")
    return WebhookResponse(body=challenge, media_type="text/plain")


def parse(account: Account, body: bytes, lookup: Lookup) -> Delivery:
    payload = load_json_object(body)
    kind = payload.get("object")
    if not isinstance(kind, str):
        raise PayloadInvalid("the delivery has no object name", field="object")
    if kind in OBJECTS.values() and kind != account.object:
        raise PayloadInvalid(
            f"the delivery is for object {kind!r}, but channel {account.channel_id} is a "
            f"{account.platform} channel, which takes {account.object!r} deliveries; point "
            f"the {kind} webhook at a {_platform_of(kind)} channel",
            field="object",
        )
    delivery = Delivery()
    if kind != account.object:  # user, permissions, whatsapp_business_account …
        delivery.ignore(f"unknown:{kind}")
        return delivery
    for i, entry in enumerate(_list(payload.get("entry"), "entry")):
        where = f"entry[{i}]"
        entry_id = str(entry.get("id") or "")
        if entry_id != account.own_id:
            what = "Page" if account.platform == "facebook" else "Instagram account"
            raise PayloadInvalid(
                f"{where} is for {what} {entry_id or '(no id)'}, but channel "
                f"{account.channel_id} is {what} {account.own_id}",
                field=f"{where}.id",
            )
        entry_time = entry.get("time")
        for key, value in entry.items():
            if key in ("id", "time"):
                continue
            if key == "changes":
                for j, change in enumerate(_list(value, f"{where}.changes")):
                    _change(account, change, f"{where}.changes[{j}]", entry_time, lookup, delivery)
            elif key == "messaging":
                for j, event in enumerate(_list(value, f"{where}.messaging")):
                    _messaging(account, event, f"{where}.messaging[{j}]", delivery)
            elif key == "standby":  # another app owns the thread (handover protocol)
                delivery.ignore("standby", len(value) if isinstance(value, list) else 1)
            else:
                delivery.ignore(f"unknown:{key}")
    return delivery


# -- changes (Page feed, Instagram comments and mentions) ---------------------------------------


def _change(
    account: Account,
    change: dict[str, Any],
    where: str,
    entry_time: Any,
    lookup: Lookup,
    delivery: Delivery,
) -> None:
    field = change.get("field")
    value = change.get("value")
    if not isinstance(field, str) or not isinstance(value, dict):
        raise PayloadInvalid(f"{where} needs a field name and a value object", field=where)
    at = f"{where}.value"
    if account.platform == "facebook" and field == "feed":
        _feed(account, value, at, entry_time, delivery)
    elif account.platform == "instagram" and field in ("comments", "live_comments"):
        _ig_comment(account, value, at, entry_time, delivery)
    elif account.platform == "instagram" and field == "mentions":
        delivery.messages.append(_ig_mention(account, value, at, entry_time, lookup))
    else:
        delivery.ignore(f"unknown:{field}")


def _feed(
    account: Account, value: dict[str, Any], where: str, entry_time: Any, delivery: Delivery
) -> None:
    item, verb = value.get("item"), value.get("verb")
    if item is not None and not isinstance(item, str):
        raise PayloadInvalid(f"{where}.item must be a string", field=f"{where}.item")
    if item == "comment":
        external_id = _required(value, "comment_id", where)
        kind = MessageKind.COMMENT
    elif item in POST_ITEMS:
        external_id = _required(value, "post_id", where)
        kind = MessageKind.POST
    else:  # reactions, likes, page events: nothing to answer
        delivery.ignore(f"feed:{item}")
        return
    author = value.get("from")
    if isinstance(author, dict) and str(author.get("id") or "") == account.own_id:
        delivery.ignore("echo")  # our own comment or post, made through the API or by hand
        return
    created = _time(value.get("created_time"), f"{where}.created_time")
    if verb in EDITED:
        text = value.get("message")
        if not isinstance(text, str):
            raise PayloadInvalid(f"{where} is an edit without a message", field=where)
        at = created or _at(entry_time, where)
        delivery.changes.append(MessageChange(account.channel_id, external_id, at, text=text))
        return
    if verb in REMOVED:
        at = created or _at(entry_time, where)
        delivery.changes.append(MessageChange(account.channel_id, external_id, at, removed=True))
        return
    if verb not in ADDED:  # hide, unhide, block …
        delivery.ignore(f"feed:{item}:{verb}")
        return
    post = value.get("post") if isinstance(value.get("post"), dict) else {}
    permalink = value.get("permalink_url") or (post or {}).get("permalink_url")
    if kind is MessageKind.COMMENT and permalink:
        local = external_id.rsplit("_", 1)[-1]
        permalink = f"{permalink}?comment_id={local}"
    parent = value.get("parent_id") if kind is MessageKind.COMMENT else None
    delivery.messages.append(
        NormalisedMessage(
            channel_id=account.channel_id,
            external_id=external_id,
            text=_text(value.get("message"), value),
            created_at=created,
            kind=kind,
            visibility=Visibility.PUBLIC,
            author=_fb_author(author, external_id),
            in_reply_to=str(parent) if parent else None,
            url=str(permalink) if permalink else None,
            meta=_compact(
                {
                    "source": "feed",
                    "post_id": value.get("post_id"),
                    "item": item,
                    "photo": value.get("photo"),
                    "video": value.get("video"),
                }
            ),
            raw=value,
        )
    )


def _fb_author(author: Any, external_id: str) -> Author:
    """The commenter; Meta leaves `from` out when the person's privacy settings hide them, and
    the message is kept under a stand-in person of its own."""
    if isinstance(author, dict) and author.get("id"):
        return Author(external_id=str(author["id"]), name=author.get("name"))
    return Author(external_id=f"hidden:{external_id}", name="Facebook user (hidden by Meta)")


def _ig_comment(
    account: Account, value: dict[str, Any], where: str, entry_time: Any, delivery: Delivery
) -> None:
    comment_id = _required(value, "id", where)
    author = value.get("from")
    if not isinstance(author, dict) or not author.get("id"):
        raise PayloadInvalid(f"{where} has no from.id", field=where)
    if str(author["id"]) == account.own_id:
        delivery.ignore("echo")
        return
    media = value.get("media") if isinstance(value.get("media"), dict) else {}
    parent = value.get("parent_id")
    delivery.messages.append(
        NormalisedMessage(
            channel_id=account.channel_id,
            external_id=comment_id,
            text=_text(value.get("text"), value),
            created_at=_time(value.get("timestamp") or entry_time, f"{where}.timestamp"),
            kind=MessageKind.COMMENT,
            visibility=Visibility.PUBLIC,
            author=_ig_author(author),
            in_reply_to=str(parent) if parent else None,
            meta=_compact(
                {
                    "source": "comments",
                    "media_id": (media or {}).get("id"),
                    "media_product_type": (media or {}).get("media_product_type"),
                }
            ),
            raw=value,
        )
    )


def _ig_mention(
    account: Account, value: dict[str, Any], where: str, entry_time: Any, lookup: Lookup
) -> NormalisedMessage:
    """An @mention only names the comment (or, for a caption, the media): what was said is
    fetched from the Graph API. When that fails the mention is kept with a text saying so, to
    be read on Instagram, rather than lost."""
    media_id = value.get("media_id")
    comment_id = value.get("comment_id")
    if not media_id and not comment_id:
        raise PayloadInvalid(f"{where} has neither comment_id nor media_id", field=where)
    target, kind = (str(comment_id), "comment") if comment_id else (str(media_id), "media")
    meta: dict[str, Any] = _compact(
        {"source": "mentions", "media_id": str(media_id) if media_id else None}
    )
    try:
        found = lookup(target, kind)
    except (SendError, DomainError) as exc:  # kept, with the reason, rather than lost
        reason = exc.message
        meta["fetch_error"] = reason
        return NormalisedMessage(
            channel_id=account.channel_id,
            external_id=target,
            text=(
                f"[Instagram mention in a {kind} that could not be fetched: {reason}. "
                "Open it on Instagram to read it.]"
            ),
            created_at=_time(entry_time, f"{where}.time"),
            kind=MessageKind.COMMENT if comment_id else MessageKind.POST,
            visibility=Visibility.PUBLIC,
            author=Author(external_id=f"mention:{target}", name="Instagram user (not fetched)"),
            meta=meta,
            raw=value,
        )
    author = found.get("from") if isinstance(found.get("from"), dict) else {}
    username = (author or {}).get("username") or found.get("username")
    author_id = (author or {}).get("id") or (f"username:{username}" if username else None)
    if not author_id:
        author_id = f"mention:{target}"
    text = found.get("text") if comment_id else found.get("caption")
    return NormalisedMessage(
        channel_id=account.channel_id,
        external_id=target,
        text=_text(text, found),
        created_at=_time(found.get("timestamp") or entry_time, f"{where} (fetched timestamp)"),
        kind=MessageKind.COMMENT if comment_id else MessageKind.POST,
        visibility=Visibility.PUBLIC,
        author=Author(external_id=str(author_id), handle=f"@{username}" if username else None),
        url=found.get("permalink"),
        meta=meta,
        raw={"webhook": value, "fetched": found},
    )


def _ig_author(author: dict[str, Any]) -> Author:
    username = author.get("username")
    return Author(external_id=str(author["id"]), handle=f"@{username}" if username else None)


# -- messaging (Messenger and Instagram Direct) -------------------------------------------------


def _messaging(account: Account, event: Any, where: str, delivery: Delivery) -> None:
    if not isinstance(event, dict):
        raise PayloadInvalid(f"{where} is not an object", field=where)
    message = event.get("message")
    if isinstance(message, dict):
        found = _direct_message(account, event, message, where)
        if isinstance(found, NormalisedMessage):
            delivery.messages.append(found)
        elif isinstance(found, MessageChange):
            delivery.changes.append(found)
        else:
            delivery.ignore(found)
        return
    edit = event.get("message_edit")
    if isinstance(edit, dict):
        mid = _required(edit, "mid", f"{where}.message_edit")
        at = _at(event.get("timestamp"), f"{where}.timestamp")
        text = edit.get("text")
        delivery.changes.append(
            MessageChange(account.channel_id, mid, at, text=str(text) if text else None)
        )
        return
    for kind in QUIET_MESSAGING:
        if kind in event:
            delivery.ignore(kind)
            return
    other = sorted(k for k in event if k not in ENVELOPE)
    delivery.ignore(f"unknown:{other[0] if other else 'messaging'}")


def _direct_message(
    account: Account, event: dict[str, Any], message: dict[str, Any], where: str
) -> NormalisedMessage | MessageChange | str:
    """A customer's message; a MessageChange for an unsent one; else the ignored kind."""
    if message.get("is_echo"):
        return "echo"
    sender = event.get("sender")
    sender_id = str(sender.get("id") or "") if isinstance(sender, dict) else ""
    if not sender_id:
        raise PayloadInvalid(f"{where} has no sender.id", field=where)
    if sender_id == account.own_id:
        return "echo"
    mid = _required(message, "mid", f"{where}.message")
    created = _time(event.get("timestamp"), f"{where}.timestamp")
    if message.get("is_deleted"):
        at = created or _at(None, f"{where}.timestamp")
        return MessageChange(account.channel_id, mid, at, removed=True)
    attachments = [_attachment(a) for a in _objects(message.get("attachments"))]
    reply_to = message.get("reply_to") if isinstance(message.get("reply_to"), dict) else None
    quick = message.get("quick_reply") if isinstance(message.get("quick_reply"), dict) else None
    return NormalisedMessage(
        channel_id=account.channel_id,
        external_id=mid,
        text=_text(message.get("text"), message),
        created_at=created,
        kind=MessageKind.DM,
        visibility=Visibility.PRIVATE,
        author=Author(external_id=sender_id),
        in_reply_to=str(reply_to["mid"]) if reply_to and reply_to.get("mid") else None,
        meta=_compact(
            {
                "source": "messenger" if account.platform == "facebook" else "instagram_direct",
                "attachments": attachments or None,
                "quick_reply": quick.get("payload") if quick else None,
            }
        ),
        raw=event,
    )


# -- helpers ----------------------------------------------------------------------------------


def _platform_of(kind: str) -> str:
    return next(p for p, o in OBJECTS.items() if o == kind)


def _list(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PayloadInvalid(f"{where} must be a list of objects", field=where)
    return value


def _attachment(attachment: dict[str, Any]) -> dict[str, Any]:
    payload = attachment.get("payload")
    url = payload.get("url") if isinstance(payload, dict) else None
    return _compact({"type": attachment.get("type"), "url": url})


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects of an optional list (attachments): anything else in their place is no object."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _required(value: dict[str, Any], key: str, where: str) -> str:
    found = value.get(key)
    if found is None or found == "" or isinstance(found, (dict, list, bool)):
        raise PayloadInvalid(f"{where} has no {key}", field=f"{where}.{key}")
    return str(found)


def _time(value: Any, where: str) -> datetime | None:
    """Epoch seconds (feed `created_time`), epoch milliseconds (messaging `timestamp`), or a
    Graph time string (`2025-03-04T09:15:27+0000`)."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, str) and not value.isdigit():
            try:
                return as_utc(datetime.strptime(value, GRAPH_TIME))  # noqa: DTZ007 (has %z)
            except ValueError:
                return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        number = int(value)
        return from_epoch(number, ms=number > MS_THRESHOLD)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int(Infinity)
        raise PayloadInvalid(f"{where} is not a time: {value!r}", field=where) from exc


def _at(value: Any, where: str) -> datetime:
    """When a change happened: Meta dates every entry, so a change without a time is unreadable."""
    found = _time(value, where)
    if found is None:
        raise PayloadInvalid(f"{where} has no time", field=where)
    return found


def _text(value: Any, container: dict[str, Any]) -> str:
    """The words; a short note for a sticker, photo or attachment without any."""
    if isinstance(value, str) and value:
        return value
    kinds = [str(a.get("type") or "attachment") for a in _objects(container.get("attachments"))]
    if kinds:
        return f"[{', '.join(kinds)}]"
    for key in ("sticker_id", "photo", "video", "attachment"):
        if container.get(key):
            return f"[{key.replace('_id', '')}]"
    return "[no text]"


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
