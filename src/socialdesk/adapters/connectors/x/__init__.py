"""X (Twitter): Account Activity webhooks in, a poller for mentions and listening searches, and
replies and DMs out through the v2 API.

Channel settings: `user_id` (the brand account's numeric id), `consumer_secret` (the app's, signs
webhooks), `access_token` (an OAuth 2.0 user token of the brand account with tweet.write and
dm.write), optional `search_query` (a recent-search query for listening) and `api_base`.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx2

from socialdesk.adapters.connectors.base import BaseConnector
from socialdesk.adapters.connectors.x import api, inbound
from socialdesk.domain.channels import Channel
from socialdesk.domain.connectors import (
    Delivery,
    HandshakeRefused,
    OutboundReply,
    ReplyMode,
    SendError,
    SendResult,
    WebhookRequest,
    WebhookResponse,
)
from socialdesk.domain.platforms import BUILTIN_PLATFORMS
from socialdesk.services.ports import SecretBox


class XConnector(BaseConnector):
    name = "x"
    platforms = (BUILTIN_PLATFORMS["x"],)
    features = frozenset({"webhook", "poll", "send"})
    default_api_base = "https://api.x.com"
    settings: ClassVar[dict[str, str]] = {
        "user_id": "the numeric id of the brand's X account (deliveries for it are accepted)",
        "consumer_secret": "the X app's consumer secret (API key secret): signs webhook deliveries",
        "access_token": "an OAuth 2.0 user access token of the brand account (tweet.read, "
        "tweet.write, users.read, dm.read, dm.write)",
        "search_query": "optional: a recent-search query to listen for, e.g. "
        '"acme OR @acme -is:retweet"',
        "api_base": "optional: another API host (a proxy); default https://api.x.com",
    }

    def handshake(self, channel: Channel, request: WebhookRequest) -> WebhookResponse:
        token = request.query.get("crc_token")
        if not token:
            raise HandshakeRefused("an X CRC check needs a crc_token query parameter")
        secret = self.setting(channel, "consumer_secret")
        return WebhookResponse(body=json.dumps(inbound.crc_response(secret, token)))

    def verify(self, channel: Channel, request: WebhookRequest) -> None:
        inbound.verify(self.setting(channel, "consumer_secret"), request)

    def parse(self, channel: Channel, request: WebhookRequest) -> Delivery:
        assert channel.id is not None
        own = channel.settings.get("user_id")
        return inbound.parse(channel.id, str(own) if own else None, request.body)

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> tuple[Delivery, dict[str, Any]]:
        assert channel.id is not None
        base, user_id = self.api_base(channel), self.setting(channel, "user_id")
        call = self._caller(channel)
        delivery, newest = api.poll_mentions(
            call, base, channel.id, user_id, cursor.get("mentions")
        )
        cursor = {**cursor, "mentions": newest}
        query = channel.settings.get("search_query")
        if query:
            searches = dict(cursor.get("search") or {})
            found, searches[query] = api.poll_search(
                call, base, channel.id, user_id, str(query), searches.get(query)
            )
            delivery.extend(found)
            cursor["search"] = searches
        return delivery, cursor

    def send(self, channel: Channel, reply: OutboundReply) -> SendResult:
        call, base = self._caller(channel), self.api_base(channel)
        if reply.mode is ReplyMode.PUBLIC_REPLY:
            return api.post_reply(call, base, _handle(channel), reply)
        if not reply.recipient_id:
            raise SendError("a direct message on X needs the customer's X user id", retryable=False)
        return api.send_dm(call, base, reply)

    def find_sent(self, channel: Channel, reply: OutboundReply) -> SendResult | None:
        call, base = self._caller(channel), self.api_base(channel)
        user_id = self.setting(channel, "user_id")
        if reply.mode is ReplyMode.PUBLIC_REPLY:
            return api.find_reply(call, base, user_id, _handle(channel), reply)
        return api.find_dm(call, base, user_id, reply) if reply.recipient_id else None

    def _caller(self, channel: Channel) -> api.Call:
        headers = {"Authorization": f"Bearer {self.setting(channel, 'access_token')}"}

        def call(method: str, url: str, **kw: Any) -> Any:
            return self.call(method, url, headers=headers, **kw)

        return call


def _handle(channel: Channel) -> str:
    return channel.name.removeprefix("@")


def connector(secrets: SecretBox, client: httpx2.Client | None = None) -> XConnector:
    return XConnector(secrets, client)
