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
from socialdesk.domain.platforms import capabilities_for
from socialdesk.domain.sla import ResponseTargets
from socialdesk.domain.text import check_text
from socialdesk.services.ports import UnitOfWork

MAX_CLOSE_REASON = 500


@dataclass(frozen=True, slots=True)
class ReplyDraft:
    text: str
    visibility: Visibility | None = None
    idempotency_key: str | None = None
    status_after: Status = Status.PENDING


@dataclass(frozen=True, slots=True)
class ReplyResult:
    message: Message
    outbox: OutboxItem
    created: bool


def load(uow: UnitOfWork, conversation_id: int) -> Conversation:
    """The conversation, locked for this transaction, or NotFound."""
    conversation = uow.conversations.get(conversation_id, for_update=True)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return conversation


# -- reply ------------------------------------------------------------------------------------


def check_reply(
    uow: UnitOfWork, conversation: Conversation, draft: ReplyDraft, now: datetime
) -> ReplyDraft | ReplyResult:
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
    visibility = draft.visibility or conversation.visibility
    caps = capabilities_for(conversation.platform)
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
    elif not caps.private_message:
        raise InvalidInput(f"{caps.label} takes no private messages", field="visibility")
    if caps.max_length is not None and len(text) > caps.max_length:
        raise InvalidInput(
            f"the reply is {len(text)} characters; {caps.label} allows {caps.max_length}",
            field="text",
        )
    if (
        visibility is Visibility.PRIVATE
        and caps.reply_window_hours is not None
        and conversation.last_inbound_at is not None
        and now - conversation.last_inbound_at > timedelta(hours=caps.reply_window_hours)
    ):
        hours = int((now - conversation.last_inbound_at).total_seconds() // 3600)
        raise InvalidInput(
            f"{caps.label} only allows private replies within {caps.reply_window_hours} hours "
            f"of the customer's last message, which was {hours} hours ago",
            field="visibility",
        )
    return ReplyDraft(text, visibility, draft.idempotency_key, draft.status_after)


def do_reply(
    uow: UnitOfWork, conversation: Conversation, actor: Agent, draft: ReplyDraft, now: datetime
) -> ReplyResult:
    """Store the reply and put it in the outbox; the conversation waits on the customer."""
    assert conversation.id is not None
    assert draft.visibility is not None
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


def reply(
    uow: UnitOfWork, actor: Agent, conversation_id: int, draft: ReplyDraft, now: datetime
) -> ReplyResult:
    with uow:
        conversation = load(uow, conversation_id)
        checked = check_reply(uow, conversation, draft, now)
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
