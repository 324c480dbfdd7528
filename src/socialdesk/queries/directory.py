"""Lists for admins: channels (secrets masked), users with their teams, teams."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
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
    )


def list_channels(conn: Connection) -> list[ChannelView]:
    rows = conn.execute(select(t.channels).order_by(t.channels.c.platform, t.channels.c.name))
    return [channel_view(r) for r in rows]


def get_channel(conn: Connection, channel_id: int) -> ChannelView | None:
    row = conn.execute(select(t.channels).where(t.channels.c.id == channel_id)).first()
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
