"""The audit log: who did what, when, with the values before and after, read from the event log.

Every change an agent, supervisor or admin makes is written as an event with its actor in the
same transaction as the change, so the audit log cannot miss one or hold one that did not
happen. The system's own events (intake, triage, the playbook, the SLA sweep) have no actor;
they are left out unless asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t
from socialdesk.domain.errors import InvalidInput

MAX_AUDIT = 500

e = t.events.c
ag = t.agents.c


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    occurred_at: datetime
    type: str
    actor_id: int | None
    actor: str | None  # the actor's username; None for the system
    conversation_id: int | None
    data: dict[str, Any]  # the event's facts; `before` and `after` for settings changes


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[AuditEntry]
    next_before_id: int | None  # pass as `before_id` for the next (older) page


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor_id: int | None = None
    types: tuple[str, ...] = ()
    conversation_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    include_system: bool = False


def audit_log(
    conn: Connection, where: AuditFilter, *, limit: int = 100, before_id: int | None = None
) -> AuditPage:
    """Entries newest first, by keyset (`before_id` from the previous page)."""
    if not 1 <= limit <= MAX_AUDIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_AUDIT}", field="limit")
    if where.since is not None and where.until is not None and where.since >= where.until:
        raise InvalidInput("since must be before until", field="since")
    stmt = select(
        e.id, e.occurred_at, e.type, e.actor_agent_id, ag.username, e.conversation_id, e.data
    ).select_from(t.events.outerjoin(t.agents, ag.id == e.actor_agent_id))
    if not where.include_system:
        stmt = stmt.where(e.actor_agent_id.is_not(None))
    if where.actor_id is not None:
        stmt = stmt.where(e.actor_agent_id == where.actor_id)
    if where.types:
        stmt = stmt.where(e.type.in_(where.types))
    if where.conversation_id is not None:
        stmt = stmt.where(e.conversation_id == where.conversation_id)
    if where.since is not None:
        stmt = stmt.where(e.occurred_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(e.occurred_at < where.until)
    if before_id is not None:
        stmt = stmt.where(e.id < before_id)
    rows = conn.execute(stmt.order_by(e.id.desc()).limit(limit + 1)).all()
    items = [AuditEntry(*row) for row in rows[:limit]]
    return AuditPage(items, items[-1].id if len(rows) > limit else None)
