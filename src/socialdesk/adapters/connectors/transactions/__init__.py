"""Transactions: call records from a phone system and chat transcripts from a chat system, posted
to one signed webhook, so calls and chats join the customer's permanent record and the one queue.

The desk does not talk to any particular phone or chat vendor: the integrator's system (or a
small script beside it) posts records in the desk's own format (docs/channels.md). One connector
serves two platforms because the signing and the delivery rules are the same; the channel's
platform says which record type it takes (phone: calls, chat: chats).

Channel settings: `signing_secret` (signs every request, both ways), optional `default_region`
(two-letter region for numbers without +country code; default US) and, on chat channels, optional
`reply_url` (where agents' replies are POSTed; without it chat conversations cannot be answered
from the desk).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx2

from socialdesk.adapters.connectors.base import BaseConnector
from socialdesk.adapters.connectors.transactions import inbound, outbound
from socialdesk.domain.channels import Channel
from socialdesk.domain.connectors import (
    Delivery,
    HandshakeRefused,
    OutboundReply,
    SendError,
    SendResult,
    SignatureInvalid,
    WebhookRequest,
    WebhookResponse,
)
from socialdesk.domain.platforms import BUILTIN_PLATFORMS
from socialdesk.services.ports import SecretBox

DEFAULT_REGION = "US"


class TransactionsConnector(BaseConnector):
    name = "transactions"
    platforms = (BUILTIN_PLATFORMS["phone"], BUILTIN_PLATFORMS["chat"])
    features = frozenset({"webhook", "send"})
    settings: ClassVar[dict[str, str]] = {
        "signing_secret": "a long random string shared with the phone or chat system: it signs "
        "every webhook request (and the desk's chat replies)",
        "default_region": "optional: two-letter region of numbers sent without +country code, "
        "e.g. GB; default US",
        "reply_url": "optional, chat channels: the chat system's address for agents' replies",
    }

    def handshake(self, channel: Channel, request: WebhookRequest) -> WebhookResponse:
        """A signed GET (over the empty body) answers ok, so an integrator can test their
        signing before sending real records; anything else is refused with the reason."""
        try:
            inbound.verify(self.setting(channel, "signing_secret"), request)
        except SignatureInvalid as exc:
            raise HandshakeRefused(exc.message) from exc
        answer = {
            "ok": True,
            "connector": self.name,
            "channel": channel.id,
            "platform": channel.platform,
        }
        return WebhookResponse(body=json.dumps(answer))

    def verify(self, channel: Channel, request: WebhookRequest) -> None:
        inbound.verify(self.setting(channel, "signing_secret"), request)

    def parse(self, channel: Channel, request: WebhookRequest) -> Delivery:
        assert channel.id is not None
        region = inbound.check_region(self.setting(channel, "default_region", DEFAULT_REGION))
        return inbound.parse(channel.id, channel.platform, region, request.body)

    def send(self, channel: Channel, reply: OutboundReply) -> SendResult:
        if channel.platform != "chat":
            raise SendError(
                f"{channel.platform} channels take no written replies; call the customer back "
                "and let the phone system post the call record",
                retryable=False,
            )
        url = self.setting(channel, "reply_url")
        if urlsplit(url).scheme not in ("http", "https"):
            raise SendError(
                f"the reply_url of channel {channel.id} is not an http(s) address; set it with "
                f"`socialdesk channel set {channel.id} --setting reply_url=https://…`",
                retryable=False,
            )
        return outbound.send_reply(self._post, url, self.setting(channel, "signing_secret"), reply)

    def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Any:
        """POST exact bytes: the signature covers them."""
        return self.call("POST", url, what="posting the chat reply", headers=headers, content=body)


def connector(secrets: SecretBox, client: httpx2.Client | None = None) -> TransactionsConnector:
    return TransactionsConnector(secrets, client)
