"""Chat replies: an agent's answer POSTed to the chat system's `reply_url`, signed like the
webhook, so the chat system can check it came from this desk the same way the desk checks it.

The chat system answers `{"id": "<its message id>"}`. The desk stores the reply under the same
external id a transcript line gets (`chat:<chat id>:<message id>`), so when the chat system later
posts the transcript with that line in it, the line is a redelivery, not a second message.
Retries carry the same `idempotency_key`; a chat system that honours it posts the line once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from socialdesk.adapters.connectors.transactions.inbound import (
    CHAT_THREAD_PREFIX,
    chat_external_id,
    signed_headers,
)
from socialdesk.domain.connectors import OutboundReply, SendError, SendResult

# (url, body, headers) → the chat system's JSON answer; BaseConnector's HTTP error handling.
Post = Callable[[str, bytes, Mapping[str, str]], Any]


def reply_body(reply: OutboundReply) -> bytes:
    """The JSON the chat system receives. `conversation` is the chat system's own chat id when
    the desk conversation came from one of its transcripts, else null (then `visitor_id` says
    whom to write to)."""
    payload = {
        "conversation": chat_id(reply),
        "visitor_id": reply.recipient_id,
        "text": reply.text,
        "idempotency_key": reply.idempotency_key,
    }
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def chat_id(reply: OutboundReply) -> str | None:
    """The chat system's id of the chat a reply belongs to, from the conversation's thread key."""
    key = reply.thread_key or ""
    return key.removeprefix(CHAT_THREAD_PREFIX) if key.startswith(CHAT_THREAD_PREFIX) else None


def send_reply(post: Post, url: str, secret: str, reply: OutboundReply) -> SendResult:
    if not reply.recipient_id:
        raise SendError(
            "a chat reply needs the visitor's id; this conversation has none", retryable=False
        )
    body = reply_body(reply)
    headers = {"Content-Type": "application/json", **signed_headers(secret, body)}
    answer = post(url, body, headers)
    message_id = answer.get("id") if isinstance(answer, dict) else None
    if isinstance(message_id, int) and not isinstance(message_id, bool):
        message_id = str(message_id)
    if not isinstance(message_id, str) or not message_id.strip():
        # It may have shown the line to the visitor; asking again with the same idempotency key
        # is safe, so this is retried rather than failed.
        raise SendError(
            'posting the chat reply: the chat system did not answer with {"id": "…"}',
            retryable=True,
            maybe_posted=True,
        )
    chat = chat_id(reply)
    external_id = chat_external_id(chat, message_id.strip()) if chat else message_id.strip()
    return SendResult(platform_message_id=external_id, meta={"chat_message_id": message_id.strip()})
