"""X API v2 calls: replies (`POST /2/tweets`), DMs, the mentions timeline and recent search.

Authenticated with the channel's OAuth 2.0 user access token (`Authorization: Bearer`), which X
accepts for posting, DMs and timelines of the user who granted it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from socialdesk.adapters.connectors.base import from_epoch_ms
from socialdesk.domain.connectors import Delivery, OutboundReply, SendError, SendResult
from socialdesk.domain.messages import Author, MessageKind, NormalisedMessage, Visibility

Call = Callable[..., Any]

TWEET_FIELDS = "author_id,conversation_id,created_at,in_reply_to_user_id,lang,referenced_tweets"
USER_FIELDS = "name,username,public_metrics,verified"
MAX_PAGES = 8  # X serves at most 800 mentions; 8 pages of 100
TIMELINE_PAGES = 32  # and at most a user's 3,200 newest tweets
LOOKBACK = timedelta(minutes=2)  # clocks differ: look a little before the attempt for its post


def post_reply(call: Call, base: str, handle: str, reply: OutboundReply) -> SendResult:
    body: dict[str, Any] = {"text": reply.text}
    if reply.in_reply_to:
        body["reply"] = {"in_reply_to_tweet_id": reply.in_reply_to}
    data = call("POST", f"{base}/2/tweets", json=body, what="posting the reply on X")
    tweet_id = str(_data(data)["id"])
    return SendResult(tweet_id, url=f"https://x.com/{handle}/status/{tweet_id}")


def send_dm(call: Call, base: str, reply: OutboundReply) -> SendResult:
    data = call(
        "POST",
        f"{base}/2/dm_conversations/with/{reply.recipient_id}/messages",
        json={"text": reply.text},
        what="sending the direct message on X",
    )
    found = _data(data)
    return SendResult(
        str(found["dm_event_id"]), meta={"dm_conversation_id": found.get("dm_conversation_id")}
    )


def find_reply(
    call: Call, base: str, user_id: str, handle: str, reply: OutboundReply
) -> SendResult | None:
    """Our tweet answering `in_reply_to` with this text, posted since the reply was written.

    Every page of our timeline since then is read, not just the newest 100 tweets: the lookup
    runs once the dead worker's lease has ended (minutes later), and a busy account posts more
    than a page in that time, so the first page alone misses the post and it goes out twice."""
    params: dict[str, Any] = {
        "max_results": 100,
        "tweet.fields": "created_at,referenced_tweets",
        "start_time": _x_time(reply.created_at - LOOKBACK),
    }
    for _ in range(TIMELINE_PAGES):
        data = call(
            "GET",
            f"{base}/2/users/{user_id}/tweets",
            params=params,
            what="looking for an earlier attempt of the reply on X",
        )
        for tweet in (data or {}).get("data") or []:
            if _answers(tweet, reply):
                tweet_id = tweet["id"]
                return SendResult(str(tweet_id), url=f"https://x.com/{handle}/status/{tweet_id}")
        following = ((data or {}).get("meta") or {}).get("next_token")
        if not following:
            return None
        params = {**params, "pagination_token": following}
    return None


def _answers(tweet: dict[str, Any], reply: OutboundReply) -> bool:
    """Whether `tweet` is `reply` as posted: the same text, answering the same tweet."""
    parents = {
        r.get("id") for r in tweet.get("referenced_tweets") or [] if r.get("type") == "replied_to"
    }
    return _same_text(tweet.get("text"), reply.text) and (
        reply.in_reply_to is None or reply.in_reply_to in parents
    )


def find_dm(call: Call, base: str, user_id: str, reply: OutboundReply) -> SendResult | None:
    data = call(
        "GET",
        f"{base}/2/dm_conversations/with/{reply.recipient_id}/dm_events",
        params={"dm_event.fields": "created_at,sender_id,text", "event_types": "MessageCreate"},
        what="looking for an earlier attempt of the direct message on X",
    )
    since = reply.created_at - LOOKBACK
    for event in (data or {}).get("data") or []:
        created = _parse_time(event.get("created_at"))
        if (
            str(event.get("sender_id")) == user_id
            and _same_text(event.get("text"), reply.text)
            and (created is None or created >= since)
        ):
            return SendResult(str(event["id"]))
    return None


def poll_mentions(
    call: Call, base: str, channel_id: int, user_id: str, since_id: str | None
) -> tuple[Delivery, str | None]:
    """Mentions newer than `since_id`, every page (the first poll takes the newest page only)."""
    params: dict[str, Any] = {
        "max_results": 100,
        "expansions": "author_id",
        "tweet.fields": TWEET_FIELDS,
        "user.fields": USER_FIELDS,
    }
    if since_id:
        params["since_id"] = since_id
    return _pages(
        call,
        f"{base}/2/users/{user_id}/mentions",
        params,
        "pagination_token",
        channel_id,
        user_id,
        more=since_id is not None,
        meta={"source": "mentions"},
        since_id=since_id,
    )


def poll_search(
    call: Call, base: str, channel_id: int, user_id: str, query: str, since_id: str | None
) -> tuple[Delivery, str | None]:
    """Recent public posts matching a listening query, including ones not addressed to us."""
    params: dict[str, Any] = {
        "query": query,
        "max_results": 100,
        "expansions": "author_id",
        "tweet.fields": TWEET_FIELDS,
        "user.fields": USER_FIELDS,
    }
    if since_id:
        params["since_id"] = since_id
    return _pages(
        call,
        f"{base}/2/tweets/search/recent",
        params,
        "next_token",
        channel_id,
        user_id,
        more=since_id is not None,
        meta={"source": "search", "listening_query": query},
        since_id=since_id,
    )


def _pages(
    call: Call,
    url: str,
    params: dict[str, Any],
    token_param: str,
    channel_id: int,
    own: str,
    *,
    more: bool,
    meta: dict[str, Any],
    since_id: str | None,
) -> tuple[Delivery, str | None]:
    delivery = Delivery()
    newest = since_id
    for page in range(MAX_PAGES):
        data = call("GET", url, params=params, what=f"reading {meta['source']} on X") or {}
        users = {
            str(u.get("id")): u
            for u in (data.get("includes") or {}).get("users") or []
            if isinstance(u, dict)
        }
        for tweet in data.get("data") or []:
            message = tweet_v2(channel_id, tweet, users, meta)
            if str(tweet.get("author_id")) == own:
                delivery.ignore("echo")
            else:
                delivery.messages.append(message)
        page_meta = data.get("meta") or {}
        if page == 0 and page_meta.get("newest_id"):
            newest = str(page_meta["newest_id"])
        token = page_meta.get("next_token")
        if not more or not token:
            break
        params = {**params, token_param: token}
    return delivery, newest


def tweet_v2(
    channel_id: int, tweet: dict[str, Any], users: dict[str, Any], meta: dict[str, Any]
) -> NormalisedMessage:
    author_id = str(tweet.get("author_id") or "")
    user = users.get(author_id) or {}
    username = user.get("username") or author_id
    metrics = user.get("public_metrics") or {}
    parent = next(
        (
            r.get("id")
            for r in tweet.get("referenced_tweets") or []
            if r.get("type") == "replied_to"
        ),
        None,
    )
    return NormalisedMessage(
        channel_id=channel_id,
        external_id=str(tweet["id"]),
        text=str(tweet.get("text") or ""),
        created_at=_parse_time(tweet.get("created_at")),
        kind=MessageKind.COMMENT if parent else MessageKind.POST,
        visibility=Visibility.PUBLIC,
        author=Author(
            external_id=author_id,
            handle=f"@{username}",
            name=user.get("name"),
            followers=metrics.get("followers_count"),
            verified=user.get("verified"),
        ),
        in_reply_to=str(parent) if parent else None,
        url=f"https://x.com/{username}/status/{tweet['id']}",
        meta={
            **meta,
            **({"lang": tweet["lang"]} if tweet.get("lang") else {}),
            **(
                {"x_conversation_id": tweet["conversation_id"]}
                if tweet.get("conversation_id")
                else {}
            ),
        },
        raw=tweet,
    )


def _data(body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise SendError(
            "X accepted the request but answered without its data object",
            retryable=True,
            maybe_posted=True,
        )
    return data


def _same_text(posted: Any, ours: str) -> bool:
    """X may put the @handle of the person answered in front of a reply's text."""
    text = str(posted or "")
    return text == ours or text.endswith(" " + ours)


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, (int, float)) or str(value).isdigit():
        return from_epoch_ms(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _x_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
