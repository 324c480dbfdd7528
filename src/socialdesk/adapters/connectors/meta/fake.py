"""A local fake of Meta's Graph API and of Meta's webhook sender, for tests and demos.

It speaks the documented shapes (versioned paths, `{"id": …}` answers, `data`/`paging` lists,
Graph error bodies with `code`/`error_subcode`, `X-Hub-Signature-256`) over real HTTP. It checks
what Meta checks: the Page token and its `appsecret_proof`, that the object answered exists, one
private reply per comment within 7 days, Send API messages only within 24 hours of the person's
last message (from the deliveries it built), Instagram replies only to top-level comments. It keeps
what was posted so tests can see it arrived once with the right fields, and can be told to fail:
`fail("/comments", 503)` or `graph_error("/me/messages", code=4)`.

Ids are invented in the documented formats: posts `{page_id}_{n}`, comments
`{post_local_id}_{n}`, Instagram objects 17-digit numbers, message ids `m_…`. Where Meta's exact
answer is not documented (the refusal of a second private reply), the wording is the fake's own.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from socialdesk.adapters.connectors.meta.api import graph_time
from socialdesk.adapters.connectors.meta.inbound import signature

MESSAGE_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)
MESSENGER_MAX, INSTAGRAM_MAX = 2000, 1000

ERROR_MESSAGES = {
    1: "An unknown error has occurred.",
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "(#4) Application request limit reached",
    10: "(#10) This message is sent outside of allowed window.",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    100: "(#100) Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try "
    "again.",
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Fault:
    path: str
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    after_effect: bool = False  # do the work, then answer with the failure (a lost answer)
    code: int | None = None
    subcode: int | None = None
    message: str | None = None
    method: str | None = "POST"

    def matches(self, method: str, path: str) -> bool:
        return (
            self.times > 0
            and (self.method is None or self.method == method)
            and (path.startswith(self.path) or path.endswith(self.path))
        )

    def response(self) -> JSONResponse:
        code = self.code if self.code is not None else (2 if self.status == 503 else 1)
        response = _error(self.status, code, self.message, self.subcode, transient=True)
        response.headers.update(self.headers)
        return response


@dataclass
class FakeMeta:
    page_id: str = "101112223334445"
    page_name: str = "Acme"
    ig_account_id: str = "17841400000000001"
    ig_username: str = "acme"
    app_secret: str = "meta-app-secret"  # noqa: S105 - the fake's own test credential
    access_token: str = "EAAfake-page-token"  # noqa: S105 - the fake's own test credential
    version: str = "v21.0"
    now: Callable[[], datetime] = _utc_now
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)  # FB posts and IG media
    comments: dict[str, dict[str, Any]] = field(default_factory=dict)  # FB and IG comments
    messages: list[dict[str, Any]] = field(default_factory=list)  # DMs both ways
    users: dict[str, str] = field(default_factory=dict)  # person id → platform
    last_inbound: dict[str, datetime] = field(default_factory=dict)  # person id → last DM
    private_replies: dict[str, str] = field(default_factory=dict)  # comment id → message id
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(5566778899001001))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what tests arrange -------------------------------------------------------------------

    def fail(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        after_effect: bool = False,
        method: str | None = "POST",
    ) -> None:
        """Answer the next `times` calls whose path starts or ends with `path` with `status`
        (a Graph error body: code 2 for 503, else code 1)."""
        self.faults.append(
            Fault(path, status, times, dict(headers or {}), after_effect, method=method)
        )

    def graph_error(
        self,
        path: str,
        code: int,
        *,
        subcode: int | None = None,
        status: int = 400,
        message: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
        method: str | None = "POST",
    ) -> None:
        """Answer the next calls with a Graph error of this code (throttling is HTTP 400)."""
        self.faults.append(
            Fault(
                path,
                status,
                times,
                dict(headers or {}),
                code=code,
                subcode=subcode,
                message=message,
                method=method,
            )
        )

    def posted_comments(self) -> list[dict[str, Any]]:
        """Comments and Instagram replies our Page or account posted, oldest first."""
        own = {self.page_id, self.ig_account_id}
        return [c for c in self.comments.values() if c["from"]["id"] in own]

    def sent_messages(self) -> list[dict[str, Any]]:
        """Send API messages we sent, oldest first."""
        own = {self.page_id, self.ig_account_id}
        return [m for m in self.messages if m["from"]["id"] in own]

    def proof(self, token: str | None = None) -> str:
        return hmac.new(
            self.app_secret.encode(), (token or self.access_token).encode(), hashlib.sha256
        ).hexdigest()

    # -- the webhook sender: Facebook Page ------------------------------------------------------

    def new_post(self, text: str = "Our spring collection is here") -> str:
        """A post on our Page (what customers comment on)."""
        with self._lock:
            local = str(next(self._ids))
            post_id = f"{self.page_id}_{local}"
            self.posts[post_id] = {
                "id": post_id,
                "platform": "facebook",
                "message": text,
                "from": {"id": self.page_id, "name": self.page_name},
                "created_time": self.now(),
                "permalink_url": f"https://www.facebook.com/{self.page_id}/posts/{local}",
            }
        return post_id

    def feed_comment(
        self,
        author_id: str,
        text: str | None,
        *,
        name: str = "Dana Q",
        post_id: str | None = None,
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        """A `feed` change for a new comment on a post (or a reply to `parent_id`)."""
        if parent_id is not None:
            post_id = self.comments[parent_id]["post_id"]
        post_id = post_id or self.new_post()
        post = self.posts[post_id]
        author = {"id": author_id, "name": name}
        comment = self._store_comment(
            "facebook", parent_id or post_id, post_id, author, text, parent_id
        )
        value: dict[str, Any] = {
            "from": author,
            "post": {
                "id": post_id,
                "status_type": "added_photos",
                "is_published": True,
                "updated_time": graph_time(self.now()),
                "permalink_url": post["permalink_url"],
                "promotion_status": "inactive",
            },
            "post_id": post_id,
            "comment_id": comment["id"],
            "created_time": int(comment["created_time"].timestamp()),
            "item": "comment",
            "parent_id": parent_id or post_id,
            "verb": "add",
        }
        if text is not None:
            value["message"] = text
        return self.page_delivery(changes=[{"field": "feed", "value": value}])

    def feed_comment_edited(self, comment_id: str, text: str) -> dict[str, Any]:
        comment = self.comments[comment_id]
        comment["message"] = text
        value = {
            "from": comment["from"],
            "post_id": comment["post_id"],
            "comment_id": comment_id,
            "created_time": int(self.now().timestamp()),
            "item": "comment",
            "parent_id": comment["object_id"],
            "verb": "edited",
            "message": text,
        }
        return self.page_delivery(changes=[{"field": "feed", "value": value}])

    def feed_comment_removed(self, comment_id: str) -> dict[str, Any]:
        comment = self.comments.pop(comment_id)
        value = {
            "from": comment["from"],
            "post_id": comment["post_id"],
            "comment_id": comment_id,
            "created_time": int(self.now().timestamp()),
            "item": "comment",
            "parent_id": comment["object_id"],
            "verb": "remove",
        }
        return self.page_delivery(changes=[{"field": "feed", "value": value}])

    def visitor_post(self, author_id: str, text: str, *, name: str = "Dana Q") -> dict[str, Any]:
        """A `feed` change for a visitor's own post on the Page."""
        with self._lock:
            local = str(next(self._ids))
        post_id = f"{self.page_id}_{local}"
        self.posts[post_id] = {
            "id": post_id,
            "platform": "facebook",
            "message": text,
            "from": {"id": author_id, "name": name},
            "created_time": self.now(),
            "permalink_url": f"https://www.facebook.com/{self.page_id}/posts/{local}",
        }
        self.users[author_id] = "facebook"
        value = {
            "from": {"id": author_id, "name": name},
            "post_id": post_id,
            "created_time": int(self.now().timestamp()),
            "item": "status",
            "verb": "add",
            "published": 1,
            "message": text,
        }
        return self.page_delivery(changes=[{"field": "feed", "value": value}])

    # -- the webhook sender: Messenger ----------------------------------------------------------

    def messenger_text(self, psid: str, text: str, *, mid: str | None = None) -> dict[str, Any]:
        """A customer's Messenger message (`messaging[]`, timestamp in epoch milliseconds)."""
        message = self._store_inbound("facebook", psid, text, mid)
        return self.page_delivery(messaging=[self._messaging_item(psid, message)])

    def messenger_echo(self, psid: str, text: str) -> dict[str, Any]:
        """The echo of a message our Page sent (`is_echo`, sender = the Page)."""
        return self.page_delivery(
            messaging=[
                {
                    "sender": {"id": self.page_id},
                    "recipient": {"id": psid},
                    "timestamp": _ms(self.now()),
                    "message": {
                        "is_echo": True,
                        "app_id": 1517880000000001,
                        "mid": _mid(),
                        "text": text,
                    },
                }
            ]
        )

    def messenger_delivery(self, psid: str, mids: list[str]) -> dict[str, Any]:
        now = _ms(self.now())
        return self.page_delivery(
            messaging=[
                {
                    "sender": {"id": psid},
                    "recipient": {"id": self.page_id},
                    "timestamp": now,
                    "delivery": {"mids": mids, "watermark": now},
                }
            ]
        )

    def messenger_read(self, psid: str) -> dict[str, Any]:
        now = _ms(self.now())
        return self.page_delivery(
            messaging=[
                {
                    "sender": {"id": psid},
                    "recipient": {"id": self.page_id},
                    "timestamp": now,
                    "read": {"watermark": now},
                }
            ]
        )

    # -- the webhook sender: Instagram ----------------------------------------------------------

    def new_media(self, caption: str = "New drop", *, owner: str | None = None) -> str:
        """A post (media) on our Instagram account, or on someone else's (`owner`)."""
        with self._lock:
            media_id = str(17800000000000000 + next(self._ids) % 10**12)
        username = owner or self.ig_username
        self.posts[media_id] = {
            "id": media_id,
            "platform": "instagram",
            "caption": caption,
            "username": username,
            "created_time": self.now(),
            "permalink": f"https://www.instagram.com/p/{media_id[-8:]}/",
        }
        return media_id

    def ig_comment(
        self,
        igsid: str,
        username: str,
        text: str,
        *,
        media_id: str | None = None,
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        """A `comments` change: a comment on our media (or a reply to `parent_id`)."""
        media_id = media_id or (self.comments[parent_id]["post_id"] if parent_id else None)
        media_id = media_id or self.new_media()
        author = {"id": igsid, "username": username}
        comment = self._store_comment(
            "instagram", parent_id or media_id, media_id, author, text, parent_id
        )
        value: dict[str, Any] = {
            "id": comment["id"],
            "text": text,
            "from": author,
            "media": {"id": media_id, "media_product_type": "FEED"},
        }
        if parent_id:
            value["parent_id"] = parent_id
        return self.ig_delivery(changes=[{"field": "comments", "value": value}])

    def ig_mention(self, igsid: str, username: str, text: str) -> dict[str, Any]:
        """A `mentions` change: someone @mentioned us in a comment on another account's media.
        Only the ids come in the webhook; the text has to be fetched."""
        media_id = self.new_media("a post elsewhere", owner="someone.else")
        comment = self._store_comment(
            "instagram", media_id, media_id, {"id": igsid, "username": username}, text, None
        )
        return self.ig_delivery(
            changes=[
                {"field": "mentions", "value": {"media_id": media_id, "comment_id": comment["id"]}}
            ]
        )

    def ig_dm(self, igsid: str, text: str, *, mid: str | None = None) -> dict[str, Any]:
        """A customer's Instagram Direct message (Messenger-shaped `messaging[]`)."""
        message = self._store_inbound("instagram", igsid, text, mid)
        return self.ig_delivery(messaging=[self._messaging_item(igsid, message)])

    # -- envelopes and signing ----------------------------------------------------------------

    def page_delivery(
        self,
        *,
        changes: list[dict[str, Any]] | None = None,
        messaging: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        return self._envelope("page", self.page_id, changes, messaging)

    def ig_delivery(
        self,
        *,
        changes: list[dict[str, Any]] | None = None,
        messaging: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        return self._envelope("instagram", self.ig_account_id, changes, messaging)

    @staticmethod
    def signed(payload: dict[str, Any], app_secret: str) -> tuple[bytes, dict[str, str]]:
        """The body Meta would POST and its headers. Meta escapes non-ASCII characters
        (`\\u00e9`) in what it signs; the signature is over these exact bytes either way."""
        body = json.dumps(payload, ensure_ascii=True).encode("ascii")
        return body, {
            "content-type": "application/json",
            "x-hub-signature-256": signature(app_secret, body),
        }

    # -- the Graph API --------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{version}/me/messages", self._send_message, methods=["POST"]),
                Route("/{version}/{object_id}/comments", self._create_comment, methods=["POST"]),
                Route("/{version}/{object_id}/comments", self._list_comments, methods=["GET"]),
                Route("/{version}/{object_id}/replies", self._create_reply, methods=["POST"]),
                Route("/{version}/{object_id}/replies", self._list_replies, methods=["GET"]),
                Route("/{version}/{object_id}/conversations", self._conversations, methods=["GET"]),
                Route("/{version}/{object_id}", self._get_object, methods=["GET"]),
            ]
        )

    async def _create_comment(self, request: Request) -> Response:
        params, body = await self._read(request)
        refused = self._guard(request, params, body)
        if refused is not None and not refused[1]:
            return refused[0]
        object_id = request.path_params["object_id"]
        text = params.get("message")
        target = self.comments.get(object_id) or self.posts.get(object_id)
        if target is None or target.get("platform") != "facebook":
            return _missing(object_id)
        if not isinstance(text, str) or not text.strip() or len(text) > 8000:
            return _error(400, 100, "(#100) message must be 1 to 8000 characters")
        post_id = target["post_id"] if object_id in self.comments else object_id
        page = {"id": self.page_id, "name": self.page_name}
        comment = self._store_comment("facebook", object_id, post_id, page, text, None)
        if refused is not None:
            return refused[0]
        return _json({"id": comment["id"]})

    async def _list_comments(self, request: Request) -> Response:
        params, _ = await self._read(request)
        refused = self._guard(request, params, None)
        if refused is not None:
            return refused[0]
        object_id = request.path_params["object_id"]
        if object_id not in self.comments and object_id not in self.posts:
            return _missing(object_id)
        found = [
            {
                "id": c["id"],
                "message": c["message"],
                "from": c["from"],
                "created_time": graph_time(c["created_time"]),
            }
            for c in self.comments.values()
            if c["object_id"] == object_id
        ]
        if params.get("order") == "reverse_chronological":
            found.reverse()
        return _page(request, params, found)

    async def _create_reply(self, request: Request) -> Response:
        params, body = await self._read(request)
        refused = self._guard(request, params, body)
        if refused is not None and not refused[1]:
            return refused[0]
        object_id = request.path_params["object_id"]
        parent = self.comments.get(object_id)
        if parent is None or parent["platform"] != "instagram":
            return _missing(object_id)
        if parent["parent_id"] is not None:
            return _error(400, 100, "(#100) Replies can only be made to top-level comments")
        text = params.get("message")
        if not isinstance(text, str) or not text.strip() or len(text) > 2200:
            return _error(400, 100, "(#100) message must be 1 to 2200 characters")
        own = {"id": self.ig_account_id, "username": self.ig_username}
        comment = self._store_comment(
            "instagram", object_id, parent["post_id"], own, text, object_id
        )
        if refused is not None:
            return refused[0]
        return _json({"id": comment["id"]})

    async def _list_replies(self, request: Request) -> Response:
        params, _ = await self._read(request)
        refused = self._guard(request, params, None)
        if refused is not None:
            return refused[0]
        object_id = request.path_params["object_id"]
        if object_id not in self.comments:
            return _missing(object_id)
        found = [
            {
                "id": c["id"],
                "text": c["message"],
                "from": c["from"],
                "username": c["from"].get("username"),
                "timestamp": graph_time(c["created_time"]),
            }
            for c in self.comments.values()
            if c["object_id"] == object_id
        ]
        return _page(request, params, found)

    async def _get_object(self, request: Request) -> Response:
        params, _ = await self._read(request)
        refused = self._guard(request, params, None)
        if refused is not None:
            return refused[0]
        object_id = request.path_params["object_id"]
        comment = self.comments.get(object_id)
        if comment is not None and comment["platform"] == "instagram":
            return _json(
                {
                    "id": object_id,
                    "text": comment["message"],
                    "username": comment["from"].get("username"),
                    "timestamp": graph_time(comment["created_time"]),
                    "from": comment["from"],
                }
            )
        media = self.posts.get(object_id)
        if media is not None and media["platform"] == "instagram":
            return _json(
                {
                    "id": object_id,
                    "caption": media["caption"],
                    "username": media["username"],
                    "timestamp": graph_time(media["created_time"]),
                    "permalink": media["permalink"],
                }
            )
        return _missing(object_id)

    async def _send_message(self, request: Request) -> Response:
        params, body = await self._read(request)
        refused = self._guard(request, params, body)
        if refused is not None and not refused[1]:
            return refused[0]
        checked = self._check_send(body)
        if isinstance(checked, Response):
            return checked
        user_id, platform, text, comment_id = checked
        own = self.page_id if platform == "facebook" else self.ig_account_id
        with self._lock:
            mid = _mid()
            self.messages.append(
                {
                    "id": mid,
                    "platform": platform,
                    "user_id": user_id,
                    "from": {"id": own},
                    "message": text,
                    "created_time": self.now(),
                    "messaging_type": body.get("messaging_type"),
                    "recipient": body.get("recipient"),
                }
            )
            if comment_id is not None:
                self.private_replies[comment_id] = mid
        if refused is not None:
            return refused[0]
        return _json({"recipient_id": user_id, "message_id": mid})

    def _check_send(self, body: Any) -> tuple[str, str, str, str | None] | Response:
        """The Send API's rules: who the message is for, what kind, and whether it may still be
        sent; the recipient's id, platform, the text and the comment privately answered."""
        if not isinstance(body, dict):
            return _error(400, 100, "(#100) the body must be a JSON object")
        kind = body.get("messaging_type")
        if kind not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            return _error(
                400, 100, "(#100) param messaging_type must be one of RESPONSE, UPDATE, MESSAGE_TAG"
            )
        if kind == "MESSAGE_TAG" and not body.get("tag"):
            return _error(400, 100, "(#100) a MESSAGE_TAG message needs a tag")
        recipient = body.get("recipient")
        message = body.get("message")
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(recipient, dict) or not isinstance(text, str) or not text.strip():
            return _error(400, 100, "(#100) recipient and message.text are required")
        now = self.now()
        comment_id = recipient.get("comment_id")
        if comment_id is not None:
            comment = self.comments.get(str(comment_id))
            if comment is None:
                return _missing(str(comment_id))
            if str(comment_id) in self.private_replies:
                return _error(
                    400, 10, "(#10) This comment has already been answered with a private reply"
                )
            if now - comment["created_time"] > PRIVATE_REPLY_WINDOW:
                return _error(400, 10, ERROR_MESSAGES[10], 2018278)
            user_id, platform = comment["from"]["id"], comment["platform"]
        else:
            user_id = str(recipient.get("id") or "")
            platform = self.users.get(user_id) or ""
            last = self.last_inbound.get(user_id)
            if not platform or last is None:
                return _error(400, 100, "(#100) No matching user found", 2018001)
            window = HUMAN_AGENT_WINDOW if body.get("tag") == "HUMAN_AGENT" else MESSAGE_WINDOW
            if now - last > window:
                return _error(400, 10, ERROR_MESSAGES[10], 2018278)
        limit = MESSENGER_MAX if platform == "facebook" else INSTAGRAM_MAX
        if len(text) > limit:
            return _error(400, 100, f"(#100) message.text must be at most {limit} characters")
        return user_id, platform, text, str(comment_id) if comment_id is not None else None

    async def _conversations(self, request: Request) -> Response:
        params, _ = await self._read(request)
        refused = self._guard(request, params, None)
        if refused is not None:
            return refused[0]
        owner = request.path_params["object_id"]
        if owner not in (self.page_id, self.ig_account_id):
            return _missing(owner)
        platform = "instagram" if owner == self.ig_account_id else "facebook"
        user_id = params.get("user_id")
        found = [
            m
            for m in self.messages
            if m["platform"] == platform and (user_id is None or m["user_id"] == user_id)
        ]
        if not found:
            return _json({"data": []})
        newest = sorted(found, key=lambda m: m["created_time"], reverse=True)[:25]
        return _json(
            {
                "data": [
                    {
                        "id": f"t_{user_id or 'all'}",
                        "messages": {
                            "data": [
                                {
                                    "id": m["id"],
                                    "message": m["message"],
                                    "from": m["from"],
                                    "created_time": graph_time(m["created_time"]),
                                }
                                for m in newest
                            ]
                        },
                    }
                ]
            }
        )

    # -- helpers ------------------------------------------------------------------------------

    async def _read(self, request: Request) -> tuple[dict[str, Any], Any]:
        """Query and form parameters together (Graph takes either), and a JSON body if any."""
        params: dict[str, Any] = dict(request.query_params)
        body: Any = None
        if request.method == "POST":
            kind = request.headers.get("content-type", "")
            if kind.startswith("application/json"):
                body = await request.json()
            elif kind.startswith("application/x-www-form-urlencoded"):
                # Parsed here: Starlette's form parser needs python-multipart, not a dependency.
                form = (await request.body()).decode("utf-8")
                params.update(dict(urllib.parse.parse_qsl(form, keep_blank_values=True)))
        return params, body

    def _guard(
        self, request: Request, params: dict[str, Any], body: Any
    ) -> tuple[Response, bool] | None:
        """Record the request; refuse a wrong token or appsecret_proof as Graph does, or answer
        the next matching fault. The flag says whether the fault lets the work happen first."""
        self.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "params": dict(params),
                "json": body,
            }
        )
        if request.path_params.get("version") != self.version:
            return _error(400, 2635, f"(#2635) Unknown API version {request.path_params}"), False
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        token = params.get("access_token") or bearer or None
        if token is None:
            return _error(400, 104, "An access token is required to request this resource."), False
        if token != self.access_token:
            return _error(400, 190, ERROR_MESSAGES[190]), False
        if params.get("appsecret_proof") != self.proof(token):
            return _error(
                400, 100, "(#100) Invalid appsecret_proof provided in the API argument"
            ), False
        with self._lock:
            for fault in self.faults:
                if fault.matches(request.method, request.url.path):
                    fault.times -= 1
                    return fault.response(), fault.after_effect
        return None

    def _store_comment(
        self,
        platform: str,
        object_id: str,
        post_id: str,
        author: dict[str, Any],
        text: str | None,
        parent_id: str | None,
    ) -> dict[str, Any]:
        with self._lock:
            n = next(self._ids)
        if platform == "facebook":
            comment_id = f"{post_id.rsplit('_', 1)[-1]}_{n}"
        else:
            comment_id = str(17900000000000000 + n % 10**12)
        comment = {
            "id": comment_id,
            "platform": platform,
            "object_id": object_id,
            "post_id": post_id,
            "parent_id": parent_id,
            "from": dict(author),
            "message": text,
            "created_time": self.now(),
        }
        self.comments[comment_id] = comment
        if author["id"] not in (self.page_id, self.ig_account_id):
            self.users.setdefault(author["id"], platform)
        return comment

    def _store_inbound(
        self, platform: str, user_id: str, text: str, mid: str | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": mid or _mid(),
            "platform": platform,
            "user_id": user_id,
            "from": {"id": user_id},
            "message": text,
            "created_time": self.now(),
        }
        with self._lock:
            self.messages.append(message)
            self.users[user_id] = platform
            self.last_inbound[user_id] = message["created_time"]
        return message

    def _messaging_item(self, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
        own = self.page_id if message["platform"] == "facebook" else self.ig_account_id
        return {
            "sender": {"id": user_id},
            "recipient": {"id": own},
            "timestamp": _ms(message["created_time"]),
            "message": {"mid": message["id"], "text": message["message"]},
        }

    def _envelope(
        self,
        kind: str,
        entry_id: str,
        changes: list[dict[str, Any]] | None,
        messaging: list[dict[str, Any]] | None,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": entry_id}
        if changes is not None:
            entry["time"] = int(self.now().timestamp())  # seconds with changes
            entry["changes"] = changes
        if messaging is not None:
            entry["time"] = _ms(self.now())  # milliseconds with messaging
            entry["messaging"] = messaging
        return {"object": kind, "entry": [entry]}


def _mid() -> str:
    return "m_" + secrets.token_urlsafe(24)


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(
        body,
        status_code=status,
        headers={"x-app-usage": '{"call_count":1,"total_cputime":1,"total_time":1}'},
    )


def _error(
    status: int,
    code: int,
    message: str | None = None,
    subcode: int | None = None,
    *,
    transient: bool = False,
) -> JSONResponse:
    error: dict[str, Any] = {
        "message": message or ERROR_MESSAGES.get(code, f"(#{code}) Error"),
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "A" + secrets.token_hex(8),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient and code in (1, 2):
        error["is_transient"] = True
    return _json({"error": error}, status)


def _missing(object_id: str) -> JSONResponse:
    return _error(
        400,
        100,
        f"Unsupported request. Object with ID '{object_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation.",
        33,
    )


def _page(request: Request, params: dict[str, Any], items: list[dict[str, Any]]) -> Response:
    """A cursor-paged list: `data`, and `paging.cursors` with `next` while more remain."""
    size = int(params.get("limit") or 25)
    start = int(params.get("after") or 0)
    chunk = items[start : start + size]
    body: dict[str, Any] = {"data": chunk}
    if chunk:
        body["paging"] = {"cursors": {"before": str(start), "after": str(start + len(chunk))}}
        if start + size < len(items):
            body["paging"]["next"] = str(request.url.include_query_params(after=start + size))
    return _json(body)
