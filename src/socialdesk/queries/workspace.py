"""What the agent workspace shows besides the queue: the counts of each built-in view, an
agent's notices and saved views, and who is viewing which conversation right now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t

ACTIVITY_TTL = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class ViewCounts:
    """Open conversations in each built-in view, counted in one statement."""

    open: int
    mine: int
    unassigned: int
    my_teams: int
    at_risk: int
    by_platform: dict[str, int]


@dataclass(frozen=True, slots=True)
class NoticeView:
    id: int
    kind: str
    conversation_id: int
    text: str
    due_at: datetime
    read: bool


@dataclass(frozen=True, slots=True)
class SavedViewView:
    name: str
    query: str


@dataclass(frozen=True, slots=True)
class Viewer:
    conversation_id: int
    agent_id: int
    name: str
    kind: str


def view_counts(conn: Connection, agent_id: int, team_ids: Sequence[int]) -> ViewCounts:
    c = t.conversations.c
    mine_teams = c.team_id.in_(list(team_ids)) if team_ids else c.id < 0
    row = conn.execute(
        select(
            func.count(),
            func.sum(case((c.assignee_id == agent_id, 1), else_=0)),
            func.sum(case((c.assignee_id.is_(None), 1), else_=0)),
            func.sum(case((mine_teams, 1), else_=0)),
            func.sum(case((c.sla_state.in_(("warning", "breached")), 1), else_=0)),
        ).where(c.status == "open")
    ).one()
    platforms = conn.execute(
        select(c.platform, func.count()).where(c.status == "open").group_by(c.platform)
    )
    return ViewCounts(
        open=row[0] or 0,
        mine=row[1] or 0,
        unassigned=row[2] or 0,
        my_teams=row[3] or 0,
        at_risk=row[4] or 0,
        by_platform={str(p): int(n) for p, n in platforms},
    )


def notices_of(conn: Connection, agent_id: int, now: datetime, limit: int = 50) -> list[NoticeView]:
    """Notices that are due (mentions at once, reminders when their time comes), unread first."""
    n = t.agent_notices.c
    rows = conn.execute(
        select(t.agent_notices)
        .where(n.agent_id == agent_id, n.due_at <= now)
        .order_by(n.read_at.is_not(None), n.due_at.desc())
        .limit(limit)
    )
    return [
        NoticeView(r.id, r.kind, r.conversation_id, r.text, r.due_at, r.read_at is not None)
        for r in rows
    ]


def unread_count(conn: Connection, agent_id: int, now: datetime) -> int:
    n = t.agent_notices.c
    return int(
        conn.execute(
            select(func.count()).where(n.agent_id == agent_id, n.read_at.is_(None), n.due_at <= now)
        ).scalar_one()
    )


def saved_views_of(conn: Connection, agent_id: int) -> list[SavedViewView]:
    v = t.saved_views.c
    rows = conn.execute(select(v.name, v.query).where(v.agent_id == agent_id).order_by(v.name))
    return [SavedViewView(r.name, r.query) for r in rows]


def viewers(
    conn: Connection, conversation_ids: Sequence[int], now: datetime, me: int | None = None
) -> dict[int, list[Viewer]]:
    """Who else is viewing or typing in each of these conversations (beats of the last 30 s)."""
    if not conversation_ids:
        return {}
    a, g = t.activities.c, t.agents.c
    rows = conn.execute(
        select(a.conversation_id, a.agent_id, a.kind, g.username, g.display_name)
        .join(t.agents, g.id == a.agent_id)
        .where(
            and_(
                a.conversation_id.in_(list(conversation_ids)),
                a.at > now - ACTIVITY_TTL,
                a.agent_id != (me if me is not None else -1),
            )
        )
        .order_by(a.at.desc())
    )
    found: dict[int, list[Viewer]] = {}
    for r in rows:
        found.setdefault(r.conversation_id, []).append(
            Viewer(r.conversation_id, r.agent_id, r.display_name or r.username, r.kind)
        )
    return found


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    type: str
    conversation_id: int | None


def latest_change(conn: Connection) -> int:
    """The newest event's id: where a live stream starts."""
    return int(conn.execute(select(func.coalesce(func.max(t.events.c.id), 0))).scalar_one())


def changes_after(conn: Connection, after: int, limit: int = 500) -> list[Change]:
    """Events after `after`, oldest first (a primary-key range: cheap to ask every second)."""
    e = t.events.c
    rows = conn.execute(
        select(e.id, e.type, e.conversation_id).where(e.id > after).order_by(e.id).limit(limit)
    )
    return [Change(r.id, r.type, r.conversation_id) for r in rows]
