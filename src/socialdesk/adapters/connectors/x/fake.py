"""A local fake of the X API v2 and of X's Account Activity sender, for tests and demos.

It speaks the documented formats (paths, bodies, `data`/`includes`/`meta` envelopes, rate-limit
headers, v2 problem bodies) over real HTTP, keeps what was posted so tests can check it arrived
once with the right fields, and can be told to fail: `fail("/2/tweets", 429, times=1)`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from socialdesk.adapters.connectors.x.inbound import V1_TIME, signature


@dataclass
class Fault:
    path: str
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    after_effect: bool = False  # do the work, then answer with the failure (a lost answer)


@dataclass
class FakeX:
    user_id: str = "1100000000000000001"
    username: str = "AcmeSupport"
    access_token: str = "x-user-token"  # noqa: S105 - the fake's own test credential
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tweets: list[dict[str, Any]] = field(default_factory=list)
    dm_events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1790000000000000001))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what tests arrange ---------------------------------------------------------------

    def add_user(
        self, user_id: str, username: str, *, followers: int = 100, verified: bool = False
    ) -> dict[str, Any]:
        user = {
            "id": user_id,
            "name": username.title(),
            "username": username,
            "verified": verified,
            "public_metrics": {"followers_count": followers, "following_count": 10},
        }
        self.users[user_id] = user
        return user

    def add_tweet(self, author_id: str, text: str, *, in_reply_to: str | None = None) -> str:
        """A public tweet by someone (a mention when it names our @username)."""
        with self._lock:
            return self._store_tweet(author_id, text, in_reply_to)

    def fail(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        after_effect: bool = False,
    ) -> None:
        self.faults.append(Fault(path, status, times, dict(headers or {}), after_effect))

    def channel(self, api_base: str, consumer_secret: str) -> dict[str, Any]:
        """The body of `POST /api/v1/channels` that connects a desk's X channel to this fake
        (served at `api_base`; deliveries signed with `consumer_secret`)."""
        return {
            "platform": "x",
            "name": f"@{self.username}",
            "settings": {
                "user_id": self.user_id,
                "consumer_secret": consumer_secret,
                "access_token": self.access_token,
                "api_base": api_base,
            },
        }

    def posted(self) -> list[dict[str, Any]]:
        """Tweets our account posted, oldest first."""
        return [t for t in self.tweets if t["author_id"] == self.user_id]

    def sent_dms(self) -> list[dict[str, Any]]:
        return [e for e in self.dm_events if e["sender_id"] == self.user_id]

    # -- the Account Activity sender ------------------------------------------------------

    def activity_tweet(
        self,
        author_id: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        tweet_id: str | None = None,
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A `tweet_create_events` delivery (v1.1 tweet objects, as Account Activity sends)."""
        user = self.users.get(author_id) or self.add_user(author_id, f"user{author_id[-4:]}")
        tweet_id = tweet_id or str(next(self._ids))
        when = created_at or datetime.now(UTC)
        return {
            "for_user_id": self.user_id,
            "user_has_blocked": "false",
            "tweet_create_events": [
                {
                    "created_at": when.strftime(V1_TIME),
                    "id": int(tweet_id),
                    "id_str": tweet_id,
                    "text": text,
                    "truncated": False,
                    "in_reply_to_status_id_str": in_reply_to,
                    "in_reply_to_user_id_str": self.user_id if in_reply_to else None,
                    "user": {
                        "id": int(author_id),
                        "id_str": author_id,
                        "name": user["name"],
                        "screen_name": user["username"],
                        "followers_count": user["public_metrics"]["followers_count"],
                        "verified": user["verified"],
                    },
                    "entities": {"hashtags": [], "urls": [], "user_mentions": []},
                    "lang": "en",
                    "timestamp_ms": str(int(when.timestamp() * 1000)),
                }
            ],
        }

    def activity_dm(
        self, sender_id: str, text: str, *, event_id: str | None = None
    ) -> dict[str, Any]:
        """A `direct_message_events` delivery with its `users` map."""
        sender = self.users.get(sender_id) or self.add_user(sender_id, f"user{sender_id[-4:]}")
        return {
            "for_user_id": self.user_id,
            "direct_message_events": [
                {
                    "type": "message_create",
                    "id": event_id or str(next(self._ids)),
                    "created_timestamp": str(int(time.time() * 1000)),
                    "message_create": {
                        "target": {"recipient_id": self.user_id},
                        "sender_id": sender_id,
                        "message_data": {"text": text, "entities": {}},
                    },
                }
            ],
            "users": {
                sender_id: {
                    "id": sender_id,
                    "name": sender["name"],
                    "screen_name": sender["username"],
                    "verified": sender["verified"],
                    "followers_count": sender["public_metrics"]["followers_count"],
                },
                self.user_id: {"id": self.user_id, "screen_name": self.username},
            },
        }

    @staticmethod
    def signed(payload: dict[str, Any], consumer_secret: str) -> tuple[bytes, dict[str, str]]:
        """The body X would POST and its headers, signed with the consumer secret."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return body, {
            "content-type": "application/json",
            "x-twitter-webhooks-signature": signature(consumer_secret, body),
        }

    # -- the API ------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/2/tweets", self._create_tweet, methods=["POST"]),
                Route("/2/users/{user_id}/tweets", self._user_tweets, methods=["GET"]),
                Route("/2/users/{user_id}/mentions", self._mentions, methods=["GET"]),
                Route("/2/tweets/search/recent", self._search, methods=["GET"]),
                Route(
                    "/2/dm_conversations/with/{participant}/messages",
                    self._send_dm,
                    methods=["POST"],
                ),
                Route(
                    "/2/dm_conversations/with/{participant}/dm_events",
                    self._dm_events,
                    methods=["GET"],
                ),
            ]
        )

    async def _create_tweet(self, request: Request) -> Response:
        body = await request.json()
        refused = self._guard(request, body)
        if refused is not None and not refused[1]:
            return refused[0]
        text = body.get("text")
        if not isinstance(text, str) or not text or len(text) > 280:
            return _problem(400, "Invalid Request", "text must be 1 to 280 characters")
        reply = body.get("reply") or {}
        parent = reply.get("in_reply_to_tweet_id")
        if parent is not None and not isinstance(parent, str):
            return _problem(400, "Invalid Request", "reply.in_reply_to_tweet_id must be a string")
        with self._lock:
            tweet_id = self._store_tweet(self.user_id, text, parent)
        if refused is not None:
            return refused[0]
        return _json(
            {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}, 201
        )

    async def _user_tweets(self, request: Request) -> Response:
        refused = self._guard(request, None)
        if refused is not None:
            return refused[0]
        author = request.path_params["user_id"]
        since = request.query_params.get("start_time")
        found = [
            t
            for t in reversed(self.tweets)
            if t["author_id"] == author and (since is None or t["created_at"] >= since)
        ]
        return self._timeline(request, found, "pagination_token")

    async def _mentions(self, request: Request) -> Response:
        refused = self._guard(request, None)
        if refused is not None:
            return refused[0]
        mention = f"@{self.username}".lower()
        found = [
            t
            for t in reversed(self.tweets)
            if mention in t["text"].lower() and t["author_id"] != self.user_id
        ]
        return self._timeline(request, found, "pagination_token")

    async def _search(self, request: Request) -> Response:
        refused = self._guard(request, None)
        if refused is not None:
            return refused[0]
        query = request.query_params.get("query", "")
        found = [t for t in reversed(self.tweets) if _matches(query, t["text"])]
        return self._timeline(request, found, "next_token")

    async def _send_dm(self, request: Request) -> Response:
        body = await request.json()
        refused = self._guard(request, body)
        if refused is not None and not refused[1]:
            return refused[0]
        text = body.get("text")
        if not isinstance(text, str) or not text or len(text) > 10000:
            return _problem(400, "Invalid Request", "text must be 1 to 10,000 characters")
        participant = request.path_params["participant"]
        with self._lock:
            event_id = str(next(self._ids))
            conversation = "-".join(sorted([self.user_id, participant]))
            self.dm_events.append(
                {
                    "id": event_id,
                    "event_type": "MessageCreate",
                    "text": text,
                    "sender_id": self.user_id,
                    "dm_conversation_id": conversation,
                    "created_at": _now(),
                }
            )
        if refused is not None:
            return refused[0]
        return _json({"data": {"dm_conversation_id": conversation, "dm_event_id": event_id}}, 201)

    async def _dm_events(self, request: Request) -> Response:
        refused = self._guard(request, None)
        if refused is not None:
            return refused[0]
        conversation = "-".join(sorted([self.user_id, request.path_params["participant"]]))
        found = [e for e in reversed(self.dm_events) if e["dm_conversation_id"] == conversation]
        return _page(found, {}, None)

    # -- helpers --------------------------------------------------------------------------

    def _store_tweet(self, author_id: str, text: str, parent: str | None) -> str:
        tweet_id = str(next(self._ids))
        tweet: dict[str, Any] = {
            "id": tweet_id,
            "text": text,
            "author_id": author_id,
            "created_at": _now(),
            "conversation_id": parent or tweet_id,
            "edit_history_tweet_ids": [tweet_id],
        }
        if parent:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": parent}]
        self.tweets.append(tweet)
        return tweet_id

    def _timeline(self, request: Request, found: list[dict[str, Any]], token_name: str) -> Response:
        since = request.query_params.get("since_id")
        if since:
            found = [t for t in found if int(t["id"]) > int(since)]
        size = int(request.query_params.get("max_results", "10"))
        start = int(request.query_params.get(token_name) or 0)
        page = found[start : start + size]
        following = str(start + size) if start + size < len(found) else None
        users = [self.users[t["author_id"]] for t in page if t["author_id"] in self.users]
        return _page(page, {"users": _unique(users)} if users else {}, following)

    def _guard(self, request: Request, body: Any) -> tuple[Response, bool] | None:
        """Record the request; answer 401 without our token, or the next matching fault.
        The flag says whether the fault lets the work happen first (a lost answer)."""
        self.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "params": dict(request.query_params),
                "json": body,
            }
        )
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return _problem(401, "Unauthorized", "Unauthorized"), False
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and request.url.path.startswith(fault.path):
                    fault.times -= 1
                    response = _problem(fault.status, _TITLES.get(fault.status, "Error"), "fault")
                    response.headers.update(fault.headers)
                    return response, fault.after_effect
        return None


_TITLES = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _json(body: Any, status: int = 200) -> JSONResponse:
    reset = str(int(time.time()) + 900)
    return JSONResponse(
        body,
        status_code=status,
        headers={
            "x-rate-limit-limit": "300",
            "x-rate-limit-remaining": "299",
            "x-rate-limit-reset": reset,
        },
    )


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return _json(
        {"title": title, "detail": detail, "type": "about:blank", "status": status}, status
    )


def _page(
    items: list[dict[str, Any]], includes: dict[str, Any], next_token: str | None
) -> Response:
    if not items:
        return _json({"meta": {"result_count": 0}})
    meta: dict[str, Any] = {
        "result_count": len(items),
        "newest_id": items[0]["id"],
        "oldest_id": items[-1]["id"],
    }
    if next_token:
        meta["next_token"] = next_token
    body: dict[str, Any] = {"data": items, "meta": meta}
    if includes:
        body["includes"] = includes
    return _json(body)


def _unique(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list({u["id"]: u for u in users}.values())


def _matches(query: str, text: str) -> bool:
    """Enough of X's query language for tests: `a b` (all), `a OR b`, `-word`, operators with a
    colon are ignored."""
    lowered = text.lower()
    for alternative in query.split(" OR "):
        words = [w.strip("()").lower() for w in alternative.split() if ":" not in w]
        wanted = [w for w in words if w and not w.startswith("-")]
        unwanted = [w[1:] for w in words if w.startswith("-") and len(w) > 1]
        if wanted and all(w in lowered for w in wanted) and not any(w in lowered for w in unwanted):
            return True
    return False
