"""Messages the desk writes on its own (the playbook's acknowledgement, a survey question), sent
through the outbox like an agent's reply: in the conversation's channel, privately when the
conversation is private and otherwise as a public reply to the customer's latest message.

They are not answers from a person: they carry no agent, change neither the conversation's state
nor its response clock, and say what they are in `meta` (`auto_ack`, `survey`), so reporting can
keep them out of response times and reply counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from socialdesk.domain.connectors import ReplyMode
from socialdesk.domain.conversations import Conversation
from socialdesk.domain.messages import DeliveryState, Direction, Message, MessageKind, Visibility
from socialdesk.domain.outbox import OutboxItem
from socialdesk.domain.platforms import PlatformCapabilities
from socialdesk.services.ports import UnitOfWork


def takes_written(conversation: Conversation, caps: PlatformCapabilities) -> bool:
    """Whether the platform takes a written message in this conversation at all (a phone call
    does not; a private conversation needs private messages, a public one public replies)."""
    if conversation.visibility is Visibility.PRIVATE:
        return caps.private_message
    return caps.public_reply


def automatic_message(
    unit: UnitOfWork, conversation: Conversation, text: str, meta: dict[str, Any], now: datetime
) -> Message:
    """Store the message, queued for delivery (the caller puts it in the outbox with `enqueue`,
    under a key it chooses). Inside the caller's unit of work."""
    assert conversation.id is not None
    private = conversation.visibility is Visibility.PRIVATE
    email = conversation.platform == "email"
    target = unit.messages.latest_inbound(conversation.id)
    mode = ReplyMode.PRIVATE_MESSAGE if private else ReplyMode.PUBLIC_REPLY
    message = Message(
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        direction=Direction.OUTBOUND,
        visibility=conversation.visibility,
        kind=MessageKind.EMAIL if email else (MessageKind.DM if private else MessageKind.COMMENT),
        text=text,
        created_at=now,
        received_at=now,
        in_reply_to=target.external_id if target else None,
        references=[*target.references, target.external_id]
        if email and target and target.external_id
        else [],
        subject=f"Re: {conversation.subject}" if conversation.subject else None,
        meta={**meta, "reply_mode": mode.value},
        delivery_state=DeliveryState.QUEUED,
    )
    unit.messages.add_many([message])
    return message


def queue_message(
    unit: UnitOfWork, conversation: Conversation, message: Message, key: str, now: datetime
) -> OutboxItem:
    """Put a stored message in the outbox, due now; `key` makes sending it twice impossible."""
    assert conversation.id is not None
    assert message.id is not None
    item = OutboxItem(
        message_id=message.id,
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        idempotency_key=key,
        created_at=now,
        next_attempt_at=now,
    )
    unit.outbox.add(item)
    return item
