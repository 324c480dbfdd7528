"""Repositories: the service ports over SQLAlchemy Core, one class per aggregate.

Batch methods use executemany; inserts use RETURNING with the parameters' order kept, so ids come
back for a thousand rows in one round trip. Lookups by many keys are chunked to stay under the
engines' bound-parameter limits.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from socialdesk.adapters.db import tables as t
from socialdesk.domain.agents import Agent, ApiToken, Role, Team
from socialdesk.domain.channels import Channel
from socialdesk.domain.conversations import Conversation, Status
from socialdesk.domain.customers import Customer, Identity
from socialdesk.domain.events import Event
from socialdesk.domain.messages import (
    DeliveryState,
    Direction,
    Message,
    MessageKind,
    RawEvent,
    Visibility,
)
from socialdesk.domain.outbox import OutboxItem

CHUNK = 500
T = TypeVar("T")


def _chunks(values: Collection[T]) -> Iterator[list[T]]:
    items = list(values)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _columns(obj: Any, table: Table) -> dict[str, Any]:
    """The dataclass fields that are columns of `table`, enums turned into their strings."""
    names = set(table.c.keys())
    row = {}
    for f in fields(obj):
        if f.name in names and f.name != "id":
            value = getattr(obj, f.name)
            row[f.name] = value.value if hasattr(value, "value") else value
    return row


def _insert_many(conn: Connection, table: Table, objects: Sequence[Any]) -> None:
    """Insert rows and write the new ids back onto the objects, in order."""
    if not objects:
        return
    rows = [_columns(o, table) for o in objects]
    result = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    for obj, new_id in zip(objects, result.scalars(), strict=True):
        obj.id = new_id


def _update_many(
    conn: Connection, table: Table, objects: Sequence[Any], columns: list[str]
) -> None:
    if not objects:
        return
    stmt = (
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values({c: bindparam(c) for c in columns})
    )
    rows = []
    for obj in objects:
        row = _columns(obj, table)
        rows.append({"_id": obj.id, **{c: row[c] for c in columns}})
    conn.execute(stmt, rows)


class ChannelRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, channel: Channel) -> None:
        _insert_many(self.conn, t.channels, [channel])

    def get(self, channel_id: int) -> Channel | None:
        return self.get_many([channel_id]).get(channel_id)

    def get_many(self, channel_ids: Collection[int]) -> dict[int, Channel]:
        found: dict[int, Channel] = {}
        for chunk in _chunks(channel_ids):
            for row in self.conn.execute(select(t.channels).where(t.channels.c.id.in_(chunk))):
                found[row.id] = channel_from_row(row)
        return found

    def find(self, platform: str, name: str) -> Channel | None:
        row = self.conn.execute(
            select(t.channels).where(t.channels.c.platform == platform, t.channels.c.name == name)
        ).first()
        return channel_from_row(row) if row else None


def channel_from_row(row: Row[Any]) -> Channel:
    return Channel(
        id=row.id,
        platform=row.platform,
        name=row.name,
        created_at=row.created_at,
        settings=dict(row.settings or {}),
        active=row.active,
    )


class CustomerRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_many(self, customers: Sequence[Customer]) -> None:
        _insert_many(self.conn, t.customers, customers)

    def get(self, customer_id: int) -> Customer | None:
        row = self.conn.execute(select(t.customers).where(t.customers.c.id == customer_id)).first()
        if row is None:
            return None
        return Customer(id=row.id, name=row.name, tags=list(row.tags), created_at=row.created_at)


class IdentityRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def find_many(self, platform: str, external_ids: Collection[str]) -> dict[str, Identity]:
        found: dict[str, Identity] = {}
        c = t.identities.c
        for chunk in _chunks(external_ids):
            rows = self.conn.execute(
                select(t.identities).where(c.platform == platform, c.external_id.in_(chunk))
            )
            for row in rows:
                found[row.external_id] = Identity(
                    id=row.id,
                    customer_id=row.customer_id,
                    platform=row.platform,
                    external_id=row.external_id,
                    handle=row.handle,
                    display_name=row.display_name,
                    followers=row.followers,
                    verified=row.verified,
                    profile=dict(row.profile),
                    created_at=row.created_at,
                )
        return found

    def add_many(self, identities: Sequence[Identity]) -> None:
        _insert_many(self.conn, t.identities, identities)

    def update_many(self, identities: Sequence[Identity]) -> None:
        _update_many(
            self.conn, t.identities, identities, ["handle", "display_name", "followers", "verified"]
        )


_CONVERSATION_STATE = [
    col.key
    for col in t.conversations.c
    if col.key not in ("id", "channel_id", "platform", "customer_id", "created_at", "visibility")
]


def conversation_from_row(row: Row[Any], tags: list[str] | None = None) -> Conversation:
    return Conversation(
        id=row.id,
        channel_id=row.channel_id,
        platform=row.platform,
        customer_id=row.customer_id,
        identity_id=row.identity_id,
        visibility=Visibility(row.visibility),
        created_at=row.created_at,
        status=Status(row.status),
        thread_key=row.thread_key,
        subject=row.subject,
        priority=row.priority,
        sentiment=row.sentiment,
        team_id=row.team_id,
        assignee_id=row.assignee_id,
        tags=tags or [],
        snoozed_until=row.snoozed_until,
        updated_at=row.updated_at,
        last_message_at=row.last_message_at,
        last_inbound_at=row.last_inbound_at,
        waiting_since=row.waiting_since,
        first_response_at=row.first_response_at,
        closed_at=row.closed_at,
        close_reason=row.close_reason,
        sla_due_at=row.sla_due_at,
        message_count=row.message_count,
        preview=row.preview,
    )


class ConversationRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, conversation_id: int, *, for_update: bool = False) -> Conversation | None:
        stmt = select(t.conversations).where(t.conversations.c.id == conversation_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = self.conn.execute(stmt).first()
        if row is None:
            return None
        tags = self.conn.execute(
            select(t.conversation_tags.c.tag)
            .where(t.conversation_tags.c.conversation_id == conversation_id)
            .order_by(t.conversation_tags.c.tag)
        ).scalars()
        return conversation_from_row(row, list(tags))

    def get_many(self, conversation_ids: Collection[int]) -> dict[int, Conversation]:
        found: dict[int, Conversation] = {}
        for chunk in _chunks(sorted(conversation_ids)):
            stmt = (
                select(t.conversations)
                .where(t.conversations.c.id.in_(chunk))
                .order_by(t.conversations.c.id)
                .with_for_update()
            )
            for row in self.conn.execute(stmt):
                found[row.id] = conversation_from_row(row)
        return found

    def latest_by_thread_keys(
        self, channel_id: int, thread_keys: Collection[str]
    ) -> dict[str, Conversation]:
        c = t.conversations.c
        found: dict[str, Conversation] = {}
        for chunk in _chunks(sorted(thread_keys)):
            newest = (
                select(func.max(c.id))
                .where(c.channel_id == channel_id, c.thread_key.in_(chunk))
                .group_by(c.thread_key)
            )
            stmt = (
                select(t.conversations)
                .where(c.id.in_(newest.scalar_subquery()))
                .order_by(c.id)
                .with_for_update()
            )
            for row in self.conn.execute(stmt):
                found[row.thread_key] = conversation_from_row(row)
        return found

    def add_many(self, conversations: Sequence[Conversation]) -> None:
        _insert_many(self.conn, t.conversations, conversations)
        tag_rows = [{"conversation_id": c.id, "tag": tag} for c in conversations for tag in c.tags]
        if tag_rows:
            self.conn.execute(insert(t.conversation_tags), tag_rows)

    def update_many(self, conversations: Sequence[Conversation]) -> None:
        _update_many(self.conn, t.conversations, conversations, _CONVERSATION_STATE)

    def set_tags(self, conversation_id: int, tags: Sequence[str]) -> None:
        ct = t.conversation_tags
        self.conn.execute(delete(ct).where(ct.c.conversation_id == conversation_id))
        if tags:
            self.conn.execute(
                insert(ct), [{"conversation_id": conversation_id, "tag": tag} for tag in tags]
            )

    def due_snoozes(self, now: datetime, limit: int) -> list[Conversation]:
        c = t.conversations.c
        stmt = (
            select(t.conversations)
            .where(c.status == Status.SNOOZED.value, c.snoozed_until <= now)
            .order_by(c.snoozed_until)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [conversation_from_row(row) for row in self.conn.execute(stmt)]


def message_from_row(row: Row[Any]) -> Message:
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        channel_id=row.channel_id,
        external_id=row.external_id,
        direction=Direction(row.direction),
        visibility=Visibility(row.visibility),
        kind=MessageKind(row.kind),
        author_identity_id=row.author_identity_id,
        author_agent_id=row.author_agent_id,
        text=row.text,
        subject=row.subject,
        created_at=row.created_at,
        received_at=row.received_at,
        in_reply_to=row.in_reply_to,
        references=list(row.references),
        url=row.url,
        meta=dict(row.meta),
        delivery_state=DeliveryState(row.delivery_state) if row.delivery_state else None,
        delivery_error=row.delivery_error,
        raw_event_id=row.raw_event_id,
    )


class MessageRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def find_many(self, channel_id: int, external_ids: Collection[str]) -> dict[str, Message]:
        c = t.messages.c
        found: dict[str, Message] = {}
        for chunk in _chunks(external_ids):
            rows = self.conn.execute(
                select(t.messages).where(c.channel_id == channel_id, c.external_id.in_(chunk))
            )
            for row in rows:
                found[row.external_id] = message_from_row(row)
        return found

    def add_many(self, messages: Sequence[Message]) -> None:
        _insert_many(self.conn, t.messages, messages)

    def get(self, message_id: int) -> Message | None:
        row = self.conn.execute(select(t.messages).where(t.messages.c.id == message_id)).first()
        return message_from_row(row) if row else None


class RawEventRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_many(self, raw_events: Sequence[RawEvent]) -> None:
        _insert_many(self.conn, t.raw_events, raw_events)


def agent_from_row(row: Row[Any], team_ids: list[int]) -> Agent:
    return Agent(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        created_at=row.created_at,
        display_name=row.display_name,
        email=row.email,
        password_hash=row.password_hash,
        active=row.active,
        team_ids=team_ids,
    )


class AgentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, agent: Agent) -> None:
        _insert_many(self.conn, t.agents, [agent])
        self._write_teams(agent)

    def get(self, agent_id: int) -> Agent | None:
        return self._one(t.agents.c.id == agent_id)

    def find(self, username: str) -> Agent | None:
        return self._one(t.agents.c.username == username)

    def update(self, agent: Agent) -> None:
        _update_many(
            self.conn,
            t.agents,
            [agent],
            ["display_name", "email", "role", "password_hash", "active"],
        )
        self.conn.execute(delete(t.team_members).where(t.team_members.c.agent_id == agent.id))
        self._write_teams(agent)

    def _one(self, condition: Any) -> Agent | None:
        row = self.conn.execute(select(t.agents).where(condition)).first()
        if row is None:
            return None
        team_ids = self.conn.execute(
            select(t.team_members.c.team_id)
            .where(t.team_members.c.agent_id == row.id)
            .order_by(t.team_members.c.team_id)
        ).scalars()
        return agent_from_row(row, list(team_ids))

    def _write_teams(self, agent: Agent) -> None:
        if agent.team_ids:
            self.conn.execute(
                insert(t.team_members),
                [{"team_id": team_id, "agent_id": agent.id} for team_id in agent.team_ids],
            )


class TeamRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, team: Team) -> None:
        _insert_many(self.conn, t.teams, [team])

    def get(self, team_id: int) -> Team | None:
        row = self.conn.execute(select(t.teams).where(t.teams.c.id == team_id)).first()
        return Team(id=row.id, name=row.name, created_at=row.created_at) if row else None

    def find(self, name: str) -> Team | None:
        row = self.conn.execute(select(t.teams).where(t.teams.c.name == name)).first()
        return Team(id=row.id, name=row.name, created_at=row.created_at) if row else None


def token_from_row(row: Row[Any]) -> ApiToken:
    return ApiToken(
        id=row.id,
        agent_id=row.agent_id,
        name=row.name,
        token_hash=row.token_hash,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


class TokenRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, token: ApiToken) -> None:
        _insert_many(self.conn, t.api_tokens, [token])

    def get(self, token_id: int) -> ApiToken | None:
        row = self.conn.execute(select(t.api_tokens).where(t.api_tokens.c.id == token_id)).first()
        return token_from_row(row) if row else None

    def find_by_hash(self, token_hash: str) -> ApiToken | None:
        row = self.conn.execute(
            select(t.api_tokens).where(t.api_tokens.c.token_hash == token_hash)
        ).first()
        return token_from_row(row) if row else None

    def update(self, token: ApiToken) -> None:
        _update_many(self.conn, t.api_tokens, [token], ["revoked_at", "last_used_at", "expires_at"])


class OutboxRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, item: OutboxItem) -> None:
        row = _columns(item, t.outbox)
        row["updated_at"] = item.created_at
        new_id = self.conn.execute(insert(t.outbox).returning(t.outbox.c.id), row).scalar_one()
        item.id = new_id

    def find_by_key(self, idempotency_key: str) -> OutboxItem | None:
        row = self.conn.execute(
            select(t.outbox).where(t.outbox.c.idempotency_key == idempotency_key)
        ).first()
        if row is None:
            return None
        return OutboxItem(
            id=row.id,
            message_id=row.message_id,
            conversation_id=row.conversation_id,
            channel_id=row.channel_id,
            idempotency_key=row.idempotency_key,
            created_at=row.created_at,
            state=DeliveryState(row.state),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            platform_message_id=row.platform_message_id,
        )


class EventLog:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def append(self, events: Sequence[Event]) -> None:
        if not events:
            return
        self.conn.execute(
            insert(t.events),
            [
                {
                    "type": e.name,
                    "conversation_id": e.conversation_id,
                    "actor_agent_id": e.actor_agent_id,
                    "occurred_at": e.occurred_at,
                    "data": e.payload(),
                }
                for e in events
            ],
        )
