"""One conversation as an agent opens it: its messages and the customer's permanent record.

Six statements whatever the size: the conversation, its tags, its messages (with authors,
delivery state and the survey a message asked), the customer, the customer's identities on every
platform, and every other conversation the customer has had on any channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t
from socialdesk.queries.inbox import AgentRef, ConversationSummary, get_summary

MAX_MESSAGES = 1000
MAX_HISTORY = 200


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where an outbound reply is: queued, sending, sent (with the platform's id) or failed."""

    state: str
    attempts: int
    idempotency_key: str
    last_error: str | None
    platform_message_id: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class SurveyView:
    """A CSAT/NPS question asked after a close, and its answer when one came (by the customer's
    message or on the answer page)."""

    id: int
    kind: str
    asked_at: datetime
    expires_at: datetime
    score: int | None
    answered_at: datetime | None
    answered_via: str | None


@dataclass(frozen=True, slots=True)
class Author:
    identity_id: int
    handle: str | None
    name: str | None
    platform: str


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    direction: str
    visibility: str
    kind: str
    text: str
    subject: str | None
    external_id: str | None
    created_at: datetime
    received_at: datetime
    in_reply_to: str | None
    url: str | None
    meta: dict[str, Any]
    author: Author | None
    agent: AgentRef | None
    delivery: Delivery | None
    triage: dict[str, Any] | None
    playbook: dict[str, Any] | None  # the rules that fired on it and what they did
    survey: SurveyView | None = None  # the survey this message asked (the desk's question)


@dataclass(frozen=True, slots=True)
class IdentityView:
    id: int
    platform: str
    external_id: str
    handle: str | None
    name: str | None
    followers: int | None
    verified: bool


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """Another conversation of the same customer, on any channel."""

    id: int
    status: str
    platform: str
    channel_id: int
    channel_name: str
    subject: str | None
    preview: str
    message_count: int
    created_at: datetime
    last_message_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: int
    name: str | None
    tags: list[str]
    created_at: datetime
    identities: list[IdentityView]
    conversations: list[HistoryItem]
    conversations_truncated: bool


@dataclass(frozen=True, slots=True)
class ConversationView:
    conversation: ConversationSummary
    messages: list[MessageView]
    messages_truncated: bool
    customer: CustomerRecord | None
    survey: SurveyView | None = None  # the latest survey asked in this conversation


def get_conversation_view(conn: Connection, conversation_id: int) -> ConversationView | None:
    summary = get_summary(conn, conversation_id)
    if summary is None:
        return None
    messages = _messages(
        conn,
        t.messages.c.conversation_id == conversation_id,
        order=(t.messages.c.created_at, t.messages.c.id),
    )
    asked = [m.survey for m in messages if m.survey is not None]
    return ConversationView(
        conversation=summary,
        messages=messages[:MAX_MESSAGES],
        messages_truncated=len(messages) > MAX_MESSAGES,
        customer=get_customer_record(conn, summary.customer.id, conversation_id),
        survey=asked[-1] if asked else None,
    )


def get_message_view(conn: Connection, message_id: int) -> MessageView | None:
    found = _messages(conn, t.messages.c.id == message_id, order=())
    return found[0] if found else None


def _messages(
    conn: Connection, condition: ColumnElement[bool], order: tuple[Any, ...]
) -> list[MessageView]:
    m, i, a, o, s = t.messages.c, t.identities.c, t.agents.c, t.outbox.c, t.surveys.c
    stmt = (
        select(
            t.messages,
            i.handle.label("author_handle"),
            i.display_name.label("author_name"),
            i.platform.label("author_platform"),
            a.username.label("agent_username"),
            a.display_name.label("agent_display_name"),
            o.state.label("outbox_state"),
            o.attempts.label("outbox_attempts"),
            o.idempotency_key.label("outbox_key"),
            o.last_error.label("outbox_error"),
            o.platform_message_id.label("outbox_platform_id"),
            o.next_attempt_at.label("outbox_next_attempt_at"),
            o.sent_at.label("outbox_sent_at"),
            s.id.label("survey_id"),
            s.kind.label("survey_kind"),
            s.asked_at.label("survey_asked_at"),
            s.expires_at.label("survey_expires_at"),
            s.score.label("survey_score"),
            s.answered_at.label("survey_answered_at"),
            s.answered_via.label("survey_answered_via"),
        )
        .outerjoin(t.identities, i.id == m.author_identity_id)
        .outerjoin(t.agents, a.id == m.author_agent_id)
        .outerjoin(t.outbox, o.message_id == m.id)
        # by conversation first, so the join uses ix_surveys_conversation
        .outerjoin(
            t.surveys,
            and_(s.conversation_id == m.conversation_id, s.question_message_id == m.id),
        )
        .where(condition)
        .order_by(*order)
        .limit(MAX_MESSAGES + 1)
    )
    views = []
    for r in conn.execute(stmt):
        views.append(
            MessageView(
                id=r.id,
                direction=r.direction,
                visibility=r.visibility,
                kind=r.kind,
                text=r.text,
                subject=r.subject,
                external_id=r.external_id,
                created_at=r.created_at,
                received_at=r.received_at,
                in_reply_to=r.in_reply_to,
                url=r.url,
                meta=dict(r.meta),
                author=Author(
                    r.author_identity_id, r.author_handle, r.author_name, r.author_platform
                )
                if r.author_identity_id is not None
                else None,
                agent=AgentRef(r.author_agent_id, r.agent_display_name or r.agent_username)
                if r.author_agent_id is not None
                else None,
                delivery=Delivery(
                    state=r.outbox_state,
                    attempts=r.outbox_attempts,
                    idempotency_key=r.outbox_key,
                    last_error=r.outbox_error,
                    platform_message_id=r.outbox_platform_id,
                    next_attempt_at=r.outbox_next_attempt_at,
                    sent_at=r.outbox_sent_at,
                )
                if r.outbox_state is not None
                else None,
                triage=r.triage,
                playbook=r.playbook,
                survey=SurveyView(
                    r.survey_id,
                    r.survey_kind,
                    r.survey_asked_at,
                    r.survey_expires_at,
                    r.survey_score,
                    r.survey_answered_at,
                    r.survey_answered_via,
                )
                if r.survey_id is not None
                else None,
            )
        )
    return views


def get_customer_record(
    conn: Connection, customer_id: int, current_id: int | None = None
) -> CustomerRecord | None:
    """The permanent record: identities on every platform and every conversation (but
    `current_id`), newest first."""
    cust = conn.execute(select(t.customers).where(t.customers.c.id == customer_id)).first()
    if cust is None:
        return None
    i = t.identities.c
    identities = [
        IdentityView(
            r.id, r.platform, r.external_id, r.handle, r.display_name, r.followers, r.verified
        )
        for r in conn.execute(
            select(t.identities).where(i.customer_id == customer_id).order_by(i.platform, i.id)
        )
    ]
    c = t.conversations.c
    history_rows = conn.execute(
        select(
            c.id,
            c.status,
            c.platform,
            c.channel_id,
            t.channels.c.name.label("channel_name"),
            c.subject,
            c.preview,
            c.message_count,
            c.created_at,
            c.last_message_at,
            c.closed_at,
        )
        .join(t.channels, t.channels.c.id == c.channel_id)
        .where(c.customer_id == customer_id, c.id != (current_id or 0))
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(MAX_HISTORY + 1)
    ).all()
    history = [HistoryItem(*r) for r in history_rows[:MAX_HISTORY]]
    return CustomerRecord(
        id=cust.id,
        name=cust.name,
        tags=list(cust.tags),
        created_at=cust.created_at,
        identities=identities,
        conversations=history,
        conversations_truncated=len(history_rows) > MAX_HISTORY,
    )
