"""Lists for admins: channels (secrets masked) with their health, users with their teams, teams,
and quarantined webhook deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.repositories import channel_from_row


@dataclass(frozen=True, slots=True)
class ChannelView:
    id: int
    platform: str
    name: str
    active: bool
    created_at: datetime
    settings: dict[str, Any]
    health: ChannelHealth


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    """How the channel's traffic is going: its poller's last run and error, the newest message
    that arrived, and deliveries waiting in quarantine."""

    last_message_at: datetime | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None
    poll_error: str | None
    consecutive_poll_errors: int
    quarantined: int


@dataclass(frozen=True, slots=True)
class QuarantineView:
    id: int
    channel_id: int | None
    connector: str
    received_at: datetime
    reason: str
    headers: dict[str, str]
    body: str
    body_bytes: int
    replayed_at: datetime | None
    replay_result: str | None


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    username: str
    display_name: str | None
    email: str | None
    role: str
    active: bool
    created_at: datetime
    teams: list[str]


@dataclass(frozen=True, slots=True)
class TeamView:
    id: int
    name: str
    created_at: datetime


def channel_view(row: Any) -> ChannelView:
    channel = channel_from_row(row)
    assert channel.id is not None
    return ChannelView(
        id=channel.id,
        platform=channel.platform,
        name=channel.name,
        active=channel.active,
        created_at=channel.created_at,
        settings=channel.public_settings(),
        health=ChannelHealth(
            last_message_at=row.last_message_at,
            last_polled_at=row.last_polled_at,
            next_poll_at=row.next_poll_at,
            poll_error=row.last_error,
            consecutive_poll_errors=row.consecutive_errors or 0,
            quarantined=row.quarantined or 0,
        ),
    )


def _channels_with_health() -> Any:
    p, q, c = t.channel_polls.c, t.quarantine.c, t.conversations.c
    return select(
        t.channels,
        p.last_polled_at,
        p.next_poll_at,
        p.last_error,
        p.consecutive_errors,
        select(func.max(c.last_inbound_at))
        .where(c.channel_id == t.channels.c.id)
        .scalar_subquery()
        .label("last_message_at"),
        select(func.count())
        .where(q.channel_id == t.channels.c.id, q.replayed_at.is_(None))
        .scalar_subquery()
        .label("quarantined"),
    ).outerjoin(t.channel_polls, p.channel_id == t.channels.c.id)


QUARANTINE_BODY_SHOWN = 65536


def list_quarantine(
    conn: Connection,
    *,
    channel_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[QuarantineView]:
    """Newest first; page with `before_id` (the last id of the previous page)."""
    q = t.quarantine.c
    stmt = select(t.quarantine).order_by(q.id.desc()).limit(limit)
    if channel_id is not None:
        stmt = stmt.where(q.channel_id == channel_id)
    if before_id is not None:
        stmt = stmt.where(q.id < before_id)
    return [quarantine_view(r) for r in conn.execute(stmt)]


def get_quarantined(conn: Connection, item_id: int) -> QuarantineView | None:
    row = conn.execute(select(t.quarantine).where(t.quarantine.c.id == item_id)).first()
    return quarantine_view(row) if row else None


def quarantine_view(row: Any) -> QuarantineView:
    body = bytes(row.body)
    return QuarantineView(
        id=row.id,
        channel_id=row.channel_id,
        connector=row.connector,
        received_at=row.received_at,
        reason=row.reason,
        headers=dict(row.headers),
        body=body[:QUARANTINE_BODY_SHOWN].decode("utf-8", "replace"),
        body_bytes=len(body),
        replayed_at=row.replayed_at,
        replay_result=row.replay_result,
    )


def list_channels(conn: Connection) -> list[ChannelView]:
    rows = conn.execute(_channels_with_health().order_by(t.channels.c.platform, t.channels.c.name))
    return [channel_view(r) for r in rows]


def get_channel(conn: Connection, channel_id: int) -> ChannelView | None:
    row = conn.execute(_channels_with_health().where(t.channels.c.id == channel_id)).first()
    return channel_view(row) if row else None


def list_users(conn: Connection) -> list[UserView]:
    teams: dict[int, list[str]] = {}
    for agent_id, name in conn.execute(
        select(t.team_members.c.agent_id, t.teams.c.name)
        .join(t.teams, t.teams.c.id == t.team_members.c.team_id)
        .order_by(t.teams.c.name)
    ):
        teams.setdefault(agent_id, []).append(name)
    a = t.agents.c
    return [
        UserView(
            r.id,
            r.username,
            r.display_name,
            r.email,
            r.role,
            r.active,
            r.created_at,
            teams.get(r.id, []),
        )
        for r in conn.execute(select(t.agents).order_by(a.username))
    ]


def list_teams(conn: Connection) -> list[TeamView]:
    return [
        TeamView(r.id, r.name, r.created_at)
        for r in conn.execute(select(t.teams).order_by(t.teams.c.name))
    ]
