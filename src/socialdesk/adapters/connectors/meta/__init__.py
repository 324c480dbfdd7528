"""Meta: Facebook Pages (feed comments, visitor posts, Messenger) and Instagram business accounts
(comments, mentions, Direct), in through one Meta app's webhooks and out through the Graph API.

A Facebook Page is a `facebook` channel and an Instagram business account an `instagram` channel;
both take deliveries at `/webhooks/meta/{channel}`. Channel settings: `app_secret` (signs
deliveries and proves API calls), `verify_token` (the subscription check), `page_id` or
`instagram_account_id`, `access_token` (a Page access token), optional `graph_version` and
`api_base`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, ClassVar

import httpx2

from socialdesk.adapters.connectors.base import BaseConnector
from socialdesk.adapters.connectors.meta import api, inbound
from socialdesk.domain.channels import Channel
from socialdesk.domain.connectors import (
    Delivery,
    OutboundReply,
    ReplyMode,
    SendError,
    SendResult,
    WebhookRequest,
    WebhookResponse,
)
from socialdesk.domain.platforms import BUILTIN_PLATFORMS
from socialdesk.services.ports import SecretBox

DEFAULT_GRAPH_VERSION = "v21.0"
OWN_ID_SETTING = {"facebook": "page_id", "instagram": "instagram_account_id"}
PRODUCT = {"facebook": "Messenger", "instagram": "Instagram"}


class MetaConnector(BaseConnector):
    name = "meta"
    platforms = (BUILTIN_PLATFORMS["facebook"], BUILTIN_PLATFORMS["instagram"])
    features = frozenset({"webhook", "send"})
    default_api_base = "https://graph.facebook.com"
    settings: ClassVar[dict[str, str]] = {
        "app_secret": "the Meta app's secret (App settings → Basic): checks the "
        "X-Hub-Signature-256 of every delivery and signs API calls (appsecret_proof)",
        "verify_token": "any string you choose and also type into the app's Webhooks settings "
        "as the Verify Token",
        "page_id": "facebook channels: the numeric id of the Facebook Page",
        "instagram_account_id": "instagram channels: the numeric id of the Instagram "
        "business account (linked to a Page)",
        "access_token": "a long-lived Page access token of that Page (pages_messaging, "
        "pages_manage_engagement, pages_read_engagement; for Instagram also "
        "instagram_manage_comments, instagram_manage_messages)",
        "graph_version": f"optional: the Graph API version; default {DEFAULT_GRAPH_VERSION}",
        "api_base": "optional: another Graph API host (a proxy); default https://graph.facebook.com",
    }

    # -- in -------------------------------------------------------------------------------

    def handshake(self, channel: Channel, request: WebhookRequest) -> WebhookResponse:
        return inbound.handshake(self.setting(channel, "verify_token"), request.query)

    def verify(self, channel: Channel, request: WebhookRequest) -> None:
        inbound.verify(self.setting(channel, "app_secret"), request)

    def parse(self, channel: Channel, request: WebhookRequest) -> Delivery:
        assert channel.id is not None
        account = inbound.Account(channel.id, channel.platform, self._own_id(channel))

        def lookup(object_id: str, kind: str) -> dict[str, Any]:
            return api.lookup(self._caller(channel), self._base(channel), object_id, kind)

        return inbound.parse(account, request.body, lookup)

    # -- out ------------------------------------------------------------------------------

    def send(self, channel: Channel, reply: OutboundReply) -> SendResult:
        call, base = self._caller(channel), self._base(channel)
        instagram = channel.platform == "instagram"
        if reply.mode is ReplyMode.PUBLIC_REPLY:
            if not reply.in_reply_to:
                raise SendError(
                    "a public reply on Facebook or Instagram answers a comment or post; this "
                    "reply names none",
                    retryable=False,
                )
            if instagram:
                return api.post_ig_reply(call, base, reply)
            return api.post_comment_reply(call, base, reply)
        product = PRODUCT[channel.platform]
        if reply.mode is ReplyMode.PRIVATE_REPLY:
            if not reply.in_reply_to:
                raise SendError(
                    "a private reply answers a comment; this reply names none", retryable=False
                )
            recipient = {"comment_id": reply.in_reply_to}
        else:
            if not reply.recipient_id:
                raise SendError(
                    f"a {product} message needs the customer's page-scoped id", retryable=False
                )
            recipient = {"id": reply.recipient_id}
        return api.send_message(call, base, recipient, reply.text, product)

    def find_sent(self, channel: Channel, reply: OutboundReply) -> SendResult | None:
        call, base = self._caller(channel), self._base(channel)
        own = self._own_id(channel)
        instagram = channel.platform == "instagram"
        if reply.mode is ReplyMode.PUBLIC_REPLY:
            if not reply.in_reply_to:
                return None
            return api.find_comment_reply(call, base, own, reply, instagram=instagram)
        if not reply.recipient_id:
            return None
        return api.find_message(call, base, own, reply, reply.recipient_id, instagram=instagram)

    def error_for(self, response: httpx2.Response, what: str) -> SendError:
        return api.graph_error(response, what)

    # -- helpers --------------------------------------------------------------------------

    def _own_id(self, channel: Channel) -> str:
        return self.setting(channel, OWN_ID_SETTING[channel.platform])

    def _base(self, channel: Channel) -> str:
        version = self.setting(channel, "graph_version", DEFAULT_GRAPH_VERSION).strip("/")
        return f"{self.api_base(channel)}/{version}"

    def _caller(self, channel: Channel) -> api.Call:
        """Graph calls for this channel: the Page token with its appsecret_proof on each, and
        a refusal for being outside the messaging window said in the agent's words."""
        token = self.setting(channel, "access_token")
        proof = appsecret_proof(self.setting(channel, "app_secret"), token)
        auth = {"access_token": token, "appsecret_proof": proof}
        product = PRODUCT[channel.platform]

        def call(method: str, url: str, *, params: dict[str, Any] | None = None, **kw: Any) -> Any:
            try:
                return self.call(method, url, params={**(params or {}), **auth}, **kw)
            except SendError as exc:
                if exc.code != api.OUTSIDE_WINDOW:
                    raise
                raise SendError(
                    f"{product} only accepts replies within 24 hours of the customer's last "
                    "message (7 days for a private reply to a comment), and Meta refused this "
                    f"one as outside that window. Reply publicly, or wait for the customer to "
                    f"write again. ({exc.message})",
                    retryable=False,
                    status=exc.status,
                    code=exc.code,
                ) from exc

        return call


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """Hex HMAC-SHA256 of the access token keyed with the app secret."""
    return hmac.new(
        app_secret.encode("utf-8"), access_token.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def connector(secrets: SecretBox, client: httpx2.Client | None = None) -> MetaConnector:
    return MetaConnector(secrets, client)
