"""What supervisors configure, as lists: templates, calendars, SLA policies, playbook versions
(newest first, with who saved each), teams with their routing settings, agents with capacity and
presence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t

MAX_ROWS = 500


@dataclass(frozen=True, slots=True)
class TemplateView:
    id: int
    name: str
    body: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CalendarView:
    id: int
    name: str
    timezone: str
    weekly: dict[str, Any]
    holiday_country: str | None
    holiday_subdivision: str | None
    extra_holidays: list[str]


@dataclass(frozen=True, slots=True)
class SlaPolicyView:
    id: int
    name: str
    targets: list[dict[str, Any]]
    calendar: str | None
    pause_when_pending: bool
    warn_before_minutes: int


@dataclass(frozen=True, slots=True)
class PlaybookVersionView:
    version: int
    comment: str
    author: str | None
    created_at: datetime
    live: bool
    activated_at: datetime | None


@dataclass(frozen=True, slots=True)
class TeamRoutingView:
    id: int
    name: str
    skills: dict[str, list[str]]
    assignment_mode: str
    calendar: str | None
    sla_policy: str | None


@dataclass(frozen=True, slots=True)
class AgentRoutingView:
    """An agent as routing sees them: presence, capacity per platform, teams, open load."""

    id: int
    username: str
    name: str
    role: str
    presence: str
    presence_at: datetime | None
    capacity: dict[str, int]
    team_ids: list[int]
    open_by_platform: dict[str, int]


def list_templates(conn: Connection) -> list[TemplateView]:
    rows = conn.execute(select(t.templates).order_by(t.templates.c.name).limit(MAX_ROWS))
    return [TemplateView(r.id, r.name, r.body, r.updated_at) for r in rows]


def list_calendars(conn: Connection) -> list[CalendarView]:
    rows = conn.execute(select(t.calendars).order_by(t.calendars.c.name).limit(MAX_ROWS))
    return [
        CalendarView(
            r.id,
            r.name,
            r.timezone,
            dict(r.weekly),
            r.holiday_country,
            r.holiday_subdivision,
            list(r.extra_holidays or []),
        )
        for r in rows
    ]


def list_sla_policies(conn: Connection) -> list[SlaPolicyView]:
    p, cal = t.sla_policies.c, t.calendars.c
    rows = conn.execute(
        select(t.sla_policies, cal.name.label("calendar_name"))
        .outerjoin(t.calendars, cal.id == p.calendar_id)
        .order_by(p.name)
        .limit(MAX_ROWS)
    )
    return [
        SlaPolicyView(
            r.id,
            r.name,
            list(r.targets),
            r.calendar_name,
            r.pause_when_pending,
            r.warn_before_minutes,
        )
        for r in rows
    ]


def _versions() -> Any:
    v, a = t.playbook_versions.c, t.agents.c
    return select(
        v.version, v.comment, v.created_at, v.live, v.activated_at, a.username.label("author")
    ).outerjoin(t.agents, a.id == v.author_agent_id)


def _version_view(r: Any) -> PlaybookVersionView:
    return PlaybookVersionView(r.version, r.comment, r.author, r.created_at, r.live, r.activated_at)


def list_playbook_versions(conn: Connection, limit: int = 100) -> list[PlaybookVersionView]:
    rows = conn.execute(_versions().order_by(t.playbook_versions.c.version.desc()).limit(limit))
    return [_version_view(r) for r in rows]


def get_playbook_version(conn: Connection, number: int) -> PlaybookVersionView | None:
    row = conn.execute(_versions().where(t.playbook_versions.c.version == number)).first()
    return _version_view(row) if row else None


def list_team_routing(conn: Connection) -> list[TeamRoutingView]:
    tm, cal, pol = t.teams.c, t.calendars.c, t.sla_policies.c
    rows = conn.execute(
        select(
            t.teams,
            cal.name.label("calendar_name"),
            pol.name.label("policy_name"),
        )
        .outerjoin(t.calendars, cal.id == tm.calendar_id)
        .outerjoin(t.sla_policies, pol.id == tm.sla_policy_id)
        .order_by(tm.name)
    )
    return [
        TeamRoutingView(
            r.id, r.name, dict(r.skills or {}), r.assignment_mode, r.calendar_name, r.policy_name
        )
        for r in rows
    ]


def list_agent_routing(conn: Connection) -> list[AgentRoutingView]:
    """Active agents with presence, capacity, teams and what they hold open (three statements)."""
    a, m, c = t.agents.c, t.team_members.c, t.conversations.c
    agents = list(
        conn.execute(select(t.agents).where(a.active.is_(True)).order_by(a.id).limit(MAX_ROWS))
    )
    ids = [r.id for r in agents]
    teams: dict[int, list[int]] = {i: [] for i in ids}
    load: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for agent_id, team_id in conn.execute(
            select(m.agent_id, m.team_id).where(m.agent_id.in_(ids)).order_by(m.team_id)
        ):
            teams[agent_id].append(team_id)
        for agent_id, platform, n in conn.execute(
            select(c.assignee_id, c.platform, func.count())
            .where(c.assignee_id.in_(ids), c.status.in_(["open", "pending"]))
            .group_by(c.assignee_id, c.platform)
        ):
            load[agent_id][platform] = n
    return [
        AgentRoutingView(
            r.id,
            r.username,
            r.display_name or r.username,
            r.role,
            r.presence,
            r.presence_at,
            dict(r.capacity or {}),
            teams[r.id],
            load[r.id],
        )
        for r in agents
    ]
