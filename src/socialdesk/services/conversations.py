"""What agents do to a conversation: reply, note, assign, tag, snooze, close, reopen.

Each action is a `check_*` / `do_*` pair (zulip's habit): `check_*` validates and authorises and
raises our 4xx-class errors; `do_*` assumes valid input and applies the change. The plain-named
function runs both in one transaction with the conversation locked, and is what the web layer calls.
Playbook actions and workers, which have validated already, call `do_*` inside their own unit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from socialdesk.domain.agents import Agent
from socialdesk.domain.connectors import ReplyMode
from socialdesk.domain.conversations import Conversation, Status
from socialdesk.domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from socialdesk.domain.events import (
    ConversationAssigned,
    ConversationClosed,
    ConversationReopened,
    ConversationSnoozed,
    ConversationTagged,
    ConversationWoken,
    Event,
    NoteAdded,
    ReplyQueued,
)
from socialdesk.domain.messages import DeliveryState, Direction, Message, MessageKind, Visibility
from socialdesk.domain.outbox import OutboxItem
from socialdesk.domain.platforms import PlatformCapabilities, capabilities_for
from socialdesk.domain.routing import reply_collision
from socialdesk.domain.sla import ResponseTargets
from socialdesk.domain.text import check_text
from socialdesk.services.ports import UnitOfWork
from socialdesk.services.workspace import notices_for_note

MAX_CLOSE_REASON = 500


@dataclass(frozen=True, slots=True)
class ReplyDraft:
    """An agent's answer. `in_reply_to_message_id` picks the customer message answered (default:
    their latest); `visibility` private on a public conversation moves it to a private channel
    (a DM on X, a private reply to the comment on Facebook and Instagram)."""

    text: str
    visibility: Visibility | None = None
    idempotency_key: str | None = None
    status_after: Status = Status.PENDING
    in_reply_to_message_id: int | None = None
    seen_up_to: datetime | None = None  # when the agent last saw the thread (collision check)
    force: bool = False  # send even though someone else replied since `seen_up_to`


@dataclass(frozen=True, slots=True)
class _CheckedReply:
    text: str
    visibility: Visibility
    mode: ReplyMode
    target: Message | None
    idempotency_key: str | None
    status_after: Status


@dataclass(frozen=True, slots=True)
class ReplyResult:
    message: Message
    outbox: OutboxItem
    created: bool


Capabilities = Callable[[str], PlatformCapabilities]


def load(uow: UnitOfWork, conversation_id: int) -> Conversation:
    """The conversation, locked for this transaction, or NotFound."""
    conversation = uow.conversations.get(conversation_id, for_update=True)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return conversation


# -- reply ------------------------------------------------------------------------------------


def check_reply(
    uow: UnitOfWork,
    conversation: Conversation,
    draft: ReplyDraft,
    now: datetime,
    capabilities: Capabilities = capabilities_for,
    actor_id: int | None = None,
) -> _CheckedReply | ReplyResult:
    """Validate a reply; returns the earlier result when the idempotency key was used already."""
    if draft.idempotency_key is not None:
        earlier = uow.outbox.find_by_key(draft.idempotency_key)
        if earlier is not None:
            if earlier.conversation_id != conversation.id:
                raise Conflict(
                    f"idempotency key {draft.idempotency_key!r} was already used for a reply in "
                    f"conversation {earlier.conversation_id}; use a new key for a new reply",
                    field="idempotency_key",
                )
            message = uow.messages.get(earlier.message_id)
            assert message is not None
            return ReplyResult(message, earlier, created=False)
    if conversation.status is Status.CLOSED:
        raise InvalidTransition(
            f"conversation {conversation.id} is closed; reopen it before replying"
        )
    if draft.status_after is Status.SNOOZED:
        raise InvalidInput("a reply cannot snooze; snooze separately", field="status_after")
    text = check_text(draft.text, field="text")
    caps = capabilities(conversation.platform)
    visibility = draft.visibility or conversation.visibility
    target = _target(uow, conversation, draft.in_reply_to_message_id)
    mode = _mode(conversation, visibility, caps)
    if caps.max_length is not None and len(text) > caps.max_length:
        raise InvalidInput(
            f"the reply is {len(text)} characters; {caps.label} allows {caps.max_length}",
            field="text",
        )
    _check_window(conversation, caps, mode, target, now)
    if mode is ReplyMode.PUBLIC_REPLY and conversation.private_mode == "required":
        raise InvalidInput(
            "the playbook requires answering this conversation privately (it involves account "
            "data); reply with visibility private",
            field="visibility",
        )
    if draft.seen_up_to is not None and not draft.force and conversation.id is not None:
        _check_collision(uow, conversation.id, draft.seen_up_to, actor_id)
    return _CheckedReply(text, visibility, mode, target, draft.idempotency_key, draft.status_after)


def _target(uow: UnitOfWork, conversation: Conversation, message_id: int | None) -> Message | None:
    """The customer message a reply answers: the one named, else their latest."""
    assert conversation.id is not None
    if message_id is None:
        return uow.messages.latest_inbound(conversation.id)
    message = uow.messages.get(message_id)
    if (
        message is None
        or message.conversation_id != conversation.id
        or message.direction is not Direction.INBOUND
    ):
        raise InvalidInput(
            f"message {message_id} is not a customer message in conversation {conversation.id}",
            field="in_reply_to_message_id",
        )
    return message


def _check_collision(
    uow: UnitOfWork, conversation_id: int, seen_up_to: datetime, actor_id: int | None
) -> None:
    """Refuse (409) a reply when somebody else answered after the agent last looked, so two
    agents do not answer the same customer twice; sending again with `force` overrides."""
    collision = reply_collision(
        seen_up_to=seen_up_to,
        me=actor_id if actor_id is not None else -1,
        brand_replies=uow.messages.brand_replies(conversation_id),
    )
    if collision is None:
        return
    who = "someone outside the desk"
    if collision.by_agent_id is not None:
        other = uow.agents.get(collision.by_agent_id)
        who = other.name if other else f"agent {collision.by_agent_id}"
    raise Conflict(
        f"{who} replied at {collision.at.isoformat()} (message {collision.message_id}), after "
        "you last saw this conversation; read their reply, then send again with force if yours "
        "is still needed",
        field="seen_up_to",
    )


def _mode(
    conversation: Conversation, visibility: Visibility, caps: PlatformCapabilities
) -> ReplyMode:
    if visibility is Visibility.PUBLIC:
        if conversation.visibility is Visibility.PRIVATE:
            raise InvalidInput(
                f"conversation {conversation.id} is private; a public reply is not possible, "
                "reply privately",
                field="visibility",
            )
        if not caps.public_reply:
            raise InvalidInput(
                f"{caps.label} has no public replies; reply privately", field="visibility"
            )
        return ReplyMode.PUBLIC_REPLY
    if conversation.visibility is Visibility.PUBLIC and caps.private_reply:
        return ReplyMode.PRIVATE_REPLY
    if not caps.private_message:
        raise InvalidInput(f"{caps.label} takes no private messages", field="visibility")
    return ReplyMode.PRIVATE_MESSAGE


def _check_window(
    conversation: Conversation,
    caps: PlatformCapabilities,
    mode: ReplyMode,
    target: Message | None,
    now: datetime,
) -> None:
    """Messenger and Instagram take private messages only within 24 hours of the customer's
    last message, and private replies to a comment within 7 days of it."""
    since: datetime | None
    if mode is ReplyMode.PRIVATE_REPLY:
        hours, what = caps.private_reply_window_hours, "comment"
        since = target.created_at if target is not None else None
    elif mode is ReplyMode.PRIVATE_MESSAGE:
        hours, since, what = caps.reply_window_hours, conversation.last_inbound_at, "last message"
    else:
        return
    if hours is None or since is None or now - since <= timedelta(hours=hours):
        return
    ago = int((now - since).total_seconds() // 3600)
    raise InvalidInput(
        f"{caps.label} only allows private replies within {hours} hours of the customer's "
        f"{what}, which was {ago} hours ago",
        field="visibility",
    )


def do_reply(
    uow: UnitOfWork,
    conversation: Conversation,
    actor: Agent,
    draft: _CheckedReply,
    now: datetime,
) -> ReplyResult:
    """Store the reply and put it in the outbox; the conversation waits on the customer."""
    assert conversation.id is not None
    target = draft.target
    references: list[str] = []
    if conversation.platform == "email" and target is not None and target.external_id:
        references = [*target.references, target.external_id]
    message = Message(
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        direction=Direction.OUTBOUND,
        visibility=draft.visibility,
        kind=_reply_kind(conversation, draft.visibility),
        text=draft.text,
        created_at=now,
        received_at=now,
        author_agent_id=actor.id,
        in_reply_to=target.external_id if target is not None else None,
        references=references,
        subject=_reply_subject(conversation.subject),
        meta={"reply_mode": draft.mode.value},
        delivery_state=DeliveryState.QUEUED,
    )
    uow.messages.add_many([message])
    assert message.id is not None
    item = OutboxItem(
        message_id=message.id,
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        idempotency_key=draft.idempotency_key or f"reply-{uuid.uuid4()}",
        created_at=now,
        next_attempt_at=now,
    )
    uow.outbox.add(item)
    was_closed = conversation.status is Status.CLOSED
    if conversation.assignee_id is None:
        conversation.assign(actor.id, conversation.team_id, now)
    conversation.record_brand_reply(now, now, draft.status_after)
    uow.conversations.update_many([conversation])
    events: list[Event] = [
        ReplyQueued(
            occurred_at=now,
            actor_agent_id=actor.id,
            conversation_id=conversation.id,
            message_id=message.id,
            visibility=draft.visibility.value,
            idempotency_key=item.idempotency_key,
        )
    ]
    if conversation.status is Status.CLOSED and not was_closed:
        events.append(
            ConversationClosed(
                occurred_at=now,
                actor_agent_id=actor.id,
                conversation_id=conversation.id,
                reason=None,
            )
        )
    uow.events.append(events)
    return ReplyResult(message, item, created=True)


def _reply_kind(conversation: Conversation, visibility: Visibility) -> MessageKind:
    if conversation.platform == "email":
        return MessageKind.EMAIL
    if visibility is Visibility.PUBLIC:
        return MessageKind.COMMENT
    return MessageKind.DM


def _reply_subject(subject: str | None) -> str | None:
    if not subject:
        return None
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def reply(
    uow: UnitOfWork,
    actor: Agent,
    conversation_id: int,
    draft: ReplyDraft,
    now: datetime,
    capabilities: Capabilities = capabilities_for,
) -> ReplyResult:
    with uow:
        conversation = load(uow, conversation_id)
        checked = check_reply(uow, conversation, draft, now, capabilities, actor.id)
        if isinstance(checked, ReplyResult):
            return checked
        result = do_reply(uow, conversation, actor, checked, now)
        uow.commit()
    return result


# -- note -------------------------------------------------------------------------------------


def add_note(
    uow: UnitOfWork, actor: Agent, conversation_id: int, text: str, now: datetime
) -> Message:
    """An internal note: private to the team, never sent to the platform."""
    with uow:
        conversation = load(uow, conversation_id)
        checked = check_text(text, field="text")
        assert conversation.id is not None
        note = Message(
            conversation_id=conversation.id,
            channel_id=conversation.channel_id,
            direction=Direction.NOTE,
            visibility=Visibility.PRIVATE,
            kind=MessageKind.NOTE,
            text=checked,
            created_at=now,
            received_at=now,
            author_agent_id=actor.id,
        )
        uow.messages.add_many([note])
        assert note.id is not None
        notices_for_note(uow, note, actor, now)
        conversation.record_note(now)
        uow.conversations.update_many([conversation])
        uow.events.append(
            [
                NoteAdded(
                    occurred_at=now,
                    actor_agent_id=actor.id,
                    conversation_id=conversation.id,
                    message_id=note.id,
                )
            ]
        )
        uow.commit()
    return note


# -- assign -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who should own the conversation. `None` fields that were not given keep their value."""

    assignee_id: int | None
    team_id: int | None
    assignee_given: bool = True
    team_given: bool = True


def check_assign(uow: UnitOfWork, conversation: Conversation, wanted: Assignment) -> Assignment:
    assignee_id = wanted.assignee_id if wanted.assignee_given else conversation.assignee_id
    team_id = wanted.team_id if wanted.team_given else conversation.team_id
    if wanted.assignee_given and assignee_id is not None:
        agent = uow.agents.get(assignee_id)
        if agent is None or not agent.active:
            raise InvalidInput(
                f"agent {assignee_id} does not exist or is deactivated", field="assignee_id"
            )
    if wanted.team_given and team_id is not None and uow.teams.get(team_id) is None:
        raise InvalidInput(f"team {team_id} does not exist", field="team_id")
    return Assignment(assignee_id, team_id)


def do_assign(
    uow: UnitOfWork,
    conversation: Conversation,
    assignment: Assignment,
    now: datetime,
    actor_id: int | None,
) -> None:
    before = (conversation.assignee_id, conversation.team_id)
    conversation.assign(assignment.assignee_id, assignment.team_id, now)
    if before == (conversation.assignee_id, conversation.team_id):
        return
    uow.conversations.update_many([conversation])
    uow.events.append(
        [
            ConversationAssigned(
                occurred_at=now,
                actor_agent_id=actor_id,
                conversation_id=conversation.id,
                assignee_before=before[0],
                assignee_after=conversation.assignee_id,
                team_before=before[1],
                team_after=conversation.team_id,
            )
        ]
    )


def assign(
    uow: UnitOfWork, actor: Agent, conversation_id: int, wanted: Assignment, now: datetime
) -> Conversation:
    with uow:
        conversation = load(uow, conversation_id)
        do_assign(uow, conversation, check_assign(uow, conversation, wanted), now, actor.id)
        uow.commit()
    return conversation


# -- tags -------------------------------------------------------------------------------------


def retag(
    uow: UnitOfWork,
    actor: Agent,
    conversation_id: int,
    add: list[str],
    remove: list[str],
    now: datetime,
) -> Conversation:
    with uow:
        conversation = load(uow, conversation_id)
        if len(add) + len(remove) > 50:
            raise InvalidInput("change at most 50 tags at once", field="add")
        added, removed = conversation.retag(add, remove, now)
        if len(conversation.tags) > 100:
            raise InvalidInput("a conversation carries at most 100 tags", field="add")
        if added or removed:
            assert conversation.id is not None
            uow.conversations.set_tags(conversation.id, conversation.tags)
            uow.conversations.update_many([conversation])
            uow.events.append(
                [
                    ConversationTagged(
                        occurred_at=now,
                        actor_agent_id=actor.id,
                        conversation_id=conversation.id,
                        added=added,
                        removed=removed,
                    )
                ]
            )
        uow.commit()
    return conversation


# -- snooze, close, reopen ----------------------------------------------------------------------


def _transition(
    uow: UnitOfWork,
    conversation_id: int,
    change: Callable[[Conversation], None],
    event: Callable[[Conversation], Event],
) -> Conversation:
    """Apply a state change the domain validates, store it and log its event, in one unit."""
    with uow:
        conversation = load(uow, conversation_id)
        change(conversation)
        uow.conversations.update_many([conversation])
        uow.events.append([event(conversation)])
        uow.commit()
    return conversation


def snooze(
    uow: UnitOfWork, actor: Agent, conversation_id: int, until: datetime, now: datetime
) -> Conversation:
    return _transition(
        uow,
        conversation_id,
        lambda c: c.snooze(until, now),
        lambda c: ConversationSnoozed(
            occurred_at=now, actor_agent_id=actor.id, conversation_id=c.id, until=until
        ),
    )


def close(
    uow: UnitOfWork, actor: Agent, conversation_id: int, reason: str | None, now: datetime
) -> Conversation:
    if reason is not None and len(reason) > MAX_CLOSE_REASON:
        raise InvalidInput(
            f"a close reason has at most {MAX_CLOSE_REASON} characters", field="reason"
        )
    return _transition(
        uow,
        conversation_id,
        lambda c: c.close(now, reason),
        lambda c: ConversationClosed(
            occurred_at=now, actor_agent_id=actor.id, conversation_id=c.id, reason=reason
        ),
    )


def reopen(
    uow: UnitOfWork,
    actor: Agent,
    conversation_id: int,
    now: datetime,
    targets: ResponseTargets,
) -> Conversation:
    return _transition(
        uow,
        conversation_id,
        lambda c: c.reopen(now, targets),
        lambda c: ConversationReopened(
            occurred_at=now, actor_agent_id=actor.id, conversation_id=c.id, by_customer=False
        ),
    )


def wake_due_snoozes(uow: UnitOfWork, now: datetime, limit: int = 500) -> int:
    """Return snoozed conversations whose time has come to the open queue; returns how many."""
    with uow:
        due = uow.conversations.due_snoozes(now, limit)
        for conversation in due:
            conversation.wake(now)
        if due:
            uow.conversations.update_many(due)
            uow.events.append(
                [ConversationWoken(occurred_at=now, conversation_id=c.id) for c in due]
            )
        uow.commit()
    return len(due)
