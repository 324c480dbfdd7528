"""What supervisors watch: each team's open queue (how many, how many nobody holds, how many at
SLA risk, who has waited longest) and when each agent was last given work.

Both are one grouped statement each, whatever the number of conversations, teams or agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, case, cast, func, select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t


@dataclass(frozen=True, slots=True)
class TeamQueue:
    """A team's open conversations (team_id None: those no team has yet)."""

    team_id: int | None
    open: int
    unassigned: int
    warning: int
    breached: int
    oldest_waiting_since: datetime | None

    @property
    def at_risk(self) -> int:
        return self.warning + self.breached


def team_queues(conn: Connection) -> dict[int | None, TeamQueue]:
    """Open conversations per team, keyed by team id (None: no team)."""
    c = t.conversations.c

    def counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(cast(case((condition, 1), else_=0), Integer)), 0)

    rows = conn.execute(
        select(
            c.team_id,
            func.count().label("open"),
            counted(c.assignee_id.is_(None)).label("unassigned"),
            counted(c.sla_state == "warning").label("warning"),
            counted(c.sla_state == "breached").label("breached"),
            func.min(c.waiting_since).label("oldest"),
        )
        .where(c.status == "open")
        .group_by(c.team_id)
    )
    return {
        r.team_id: TeamQueue(
            r.team_id, r.open, int(r.unassigned), int(r.warning), int(r.breached), r.oldest
        )
        for r in rows
    }


def last_assigned(conn: Connection) -> dict[int, datetime | None]:
    """When each active agent was last given a conversation (None: never)."""
    a = t.agents.c
    rows = conn.execute(select(a.id, a.last_assigned_at).where(a.active.is_(True)))
    return {r.id: r.last_assigned_at for r in rows}
