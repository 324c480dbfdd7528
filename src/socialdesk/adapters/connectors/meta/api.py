"""Graph API calls: comment replies, the Send API (Messenger, Instagram Direct, private replies),
the lookups that find an earlier attempt of a reply, and Graph's error bodies.

Every call carries the Page access token and its `appsecret_proof`, so a leaked token is useless
without the app secret. Graph reports most failures, throttling included, as HTTP 400 with an
`error.code`: the code, not the status, decides whether a reply is tried again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2

from socialdesk.adapters.connectors.base import MAX_ERROR_TEXT, retry_hint
from socialdesk.domain.connectors import OutboundReply, SendError, SendResult

Call = Callable[..., Any]

GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"
LOOKBACK = timedelta(minutes=2)  # clocks differ: look a little before the attempt for its post
MAX_PAGES = 5  # a reply is found among the newest few hundred answers or not at all
PAGE_SIZE = 100
# Throttling and transient failures: the request was not done; try again later.
THROTTLED = {4, 17, 32, 613, *range(80001, 80010)}
TRANSIENT = {1, 2}  # "unknown error", "service temporarily unavailable": it may have been done
AUTH = {102, 190}
OUTSIDE_WINDOW_SUBCODES = {2018278, 2534022}
OUTSIDE_WINDOW = "outside_window"


# -- sending ------------------------------------------------------------------------------------


def post_comment_reply(call: Call, base: str, reply: OutboundReply) -> SendResult:
    """A public answer under a Facebook post or comment (`POST /{object}/comments`)."""
    data = call(
        "POST",
        f"{base}/{reply.in_reply_to}/comments",
        data={"message": reply.text},
        what="posting the reply on Facebook",
    )
    return SendResult(_id(data, "id"))


def post_ig_reply(call: Call, base: str, reply: OutboundReply) -> SendResult:
    """A public answer to an Instagram comment (`POST /{comment}/replies`)."""
    data = call(
        "POST",
        f"{base}/{reply.in_reply_to}/replies",
        data={"message": reply.text},
        what="posting the reply on Instagram",
    )
    return SendResult(_id(data, "id"))


def send_message(
    call: Call, base: str, recipient: dict[str, str], text: str, product: str
) -> SendResult:
    """The Send API: a message to a PSID / IGSID (`recipient.id`) or the one private reply to a
    comment (`recipient.comment_id`), as an answer inside the messaging window."""
    data = call(
        "POST",
        f"{base}/me/messages",
        json={"recipient": recipient, "messaging_type": "RESPONSE", "message": {"text": text}},
        what=f"sending the {product} message",
    )
    found = _id(data, "message_id")
    recipient_id = data.get("recipient_id") if isinstance(data, dict) else None
    return SendResult(found, meta={"recipient_id": recipient_id} if recipient_id else {})


# -- finding an earlier attempt -----------------------------------------------------------------


def find_comment_reply(
    call: Call, base: str, own_id: str, reply: OutboundReply, *, instagram: bool
) -> SendResult | None:
    """Our answer with this text under `in_reply_to`, posted since the reply was written."""
    edge = "replies" if instagram else "comments"
    fields = "id,text,from,username,timestamp" if instagram else "id,message,from,created_time"
    params: dict[str, Any] = {"fields": fields, "limit": PAGE_SIZE}
    if not instagram:
        params["order"] = "reverse_chronological"
    since = reply.created_at - LOOKBACK
    for item in _pages(
        call, f"{base}/{reply.in_reply_to}/{edge}", params, "looking for an earlier attempt"
    ):
        author = item.get("from") if isinstance(item.get("from"), dict) else {}
        text = item.get("text") if instagram else item.get("message")
        when = parse_time(item.get("timestamp") if instagram else item.get("created_time"))
        if (
            str((author or {}).get("id") or "") == own_id
            and text == reply.text
            and (when is None or when >= since)
        ):
            return SendResult(str(item["id"]))
    return None


def find_message(
    call: Call, base: str, own_id: str, reply: OutboundReply, user_id: str, *, instagram: bool
) -> SendResult | None:
    """Our Send API message with this text in the conversation with `user_id`."""
    params: dict[str, Any] = {
        "user_id": user_id,
        "fields": "messages.limit(25){id,message,from,created_time}",
    }
    if instagram:
        params["platform"] = "instagram"
    data = call(
        "GET",
        f"{base}/{own_id}/conversations",
        params=params,
        what="looking for an earlier attempt of the message",
    )
    since = reply.created_at - LOOKBACK
    for conversation in (data or {}).get("data") or []:
        messages = (conversation.get("messages") or {}).get("data") or []
        for message in messages:
            author = message.get("from") if isinstance(message.get("from"), dict) else {}
            when = parse_time(message.get("created_time"))
            if (
                str((author or {}).get("id") or "") == own_id
                and message.get("message") == reply.text
                and (when is None or when >= since)
            ):
                return SendResult(str(message["id"]))
    return None


def lookup(call: Call, base: str, object_id: str, kind: str) -> dict[str, Any]:
    """An Instagram comment (for a mention) or media (for a caption mention) by id."""
    fields = (
        "id,text,username,timestamp,from"
        if kind == "comment"
        else "id,caption,username,timestamp,permalink"
    )
    data = call(
        "GET",
        f"{base}/{object_id}",
        params={"fields": fields},
        what=f"fetching the mentioning {kind} from Instagram",
    )
    if not isinstance(data, dict) or not data.get("id"):
        raise SendError(f"Instagram answered without the {kind}", retryable=True)
    return data


def _pages(call: Call, url: str, params: dict[str, Any], what: str) -> list[dict[str, Any]]:
    """Every item of a cursor-paged edge, following `paging.cursors.after` a few pages deep."""
    items: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        data = call("GET", url, params=params, what=what) or {}
        items.extend(i for i in data.get("data") or [] if isinstance(i, dict))
        paging = data.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            break
        params = {**params, "after": after}
    return items


# -- errors -------------------------------------------------------------------------------------


def graph_error(response: httpx2.Response, what: str) -> SendError:
    """Classify a failed Graph call by its `error.code` and `error_subcode` (Graph answers
    throttling with 400 and a code); the HTTP status decides only when the body has no code."""
    status = response.status_code
    error = _error_body(response)
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    detail = str(error.get("error_user_msg") or error.get("message") or response.reason_phrase)[
        :MAX_ERROR_TEXT
    ]
    tag = f"code {code}" + (f"/{subcode}" if subcode is not None else "") if code else None
    seconds, at = retry_hint(response.headers)
    seconds = usage_wait(response.headers) or seconds
    if code in THROTTLED or status == 429:
        return SendError(
            f"{what}: throttled by Meta ({tag or status}: {detail}); trying again later",
            retryable=True,
            retry_after=seconds,
            retry_at=at,
            status=status,
            code="rate_limited",
        )
    if subcode in OUTSIDE_WINDOW_SUBCODES or "outside of allowed window" in detail.lower():
        return SendError(
            f"{what}: Meta refused it as outside the messaging window ({detail})",
            retryable=False,
            status=status,
            code=OUTSIDE_WINDOW,
        )
    if code in TRANSIENT or status >= 500:
        return SendError(
            f"{what}: Meta failed with {status} ({tag + ': ' if tag else ''}{detail})",
            retryable=True,
            maybe_posted=True,
            retry_after=seconds,
            retry_at=at,
            status=status,
        )
    if code in AUTH:
        return SendError(
            f"{what}: Meta refused the Page access token ({tag}: {detail}); set a new "
            "access_token on the channel",
            retryable=False,
            status=status,
            code="token_invalid",
        )
    return SendError(
        f"{what}: refused by Meta with {status} ({tag + ': ' if tag else ''}{detail})",
        retryable=False,
        status=status,
        code=str(code) if code is not None else None,
    )


def usage_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds until Meta lets the Page call again: the longest
    `estimated_time_to_regain_access` (minutes) in `X-Business-Use-Case-Usage`."""
    raw = headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [
        float(entry.get("estimated_time_to_regain_access") or 0)
        for entries in (usage.values() if isinstance(usage, dict) else [])
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    longest = max(minutes, default=0.0)
    return longest * 60 if longest > 0 else None


def _error_body(response: httpx2.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"message": response.text[:MAX_ERROR_TEXT]} if response.text else {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


# -- helpers ------------------------------------------------------------------------------------


def _id(body: Any, key: str) -> str:
    found = body.get(key) if isinstance(body, dict) else None
    if not found:
        raise SendError(
            f"Meta accepted the request but answered without its {key}",
            retryable=True,
            maybe_posted=True,
        )
    return str(found)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def parse_time(value: Any) -> datetime | None:
    """Graph's `2025-03-04T09:15:27+0000`, ISO 8601, or epoch seconds; None when unreadable
    (a lookup then does not filter on time)."""
    if not value:
        return None
    if isinstance(value, (int, float)) or str(value).isdigit():
        return datetime.fromtimestamp(int(value), tz=UTC)
    text = str(value)
    try:
        return datetime.strptime(text, GRAPH_TIME).astimezone(UTC)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def graph_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime(GRAPH_TIME)
