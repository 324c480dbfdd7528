"""The desk's state as operators watch it (Prometheus gauges on /metrics): the queue, SLA
breaches, the triage backlog, and the outbox and notifications waiting or failed. Read from the
database at each scrape, so every web process reports the same desk-wide numbers; each count is
served by an index."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, and_, case, func, select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t
from socialdesk.domain.conversations import Status
from socialdesk.domain.messages import DeliveryState
from socialdesk.domain.sla import SlaState


@dataclass(frozen=True, slots=True)
class DeskState:
    open_unassigned: int
    open_assigned: int
    open_breached: int  # open conversations past an SLA due time
    untriaged: int  # inbound messages the triage job has not read yet
    outbox: dict[str, int]  # replies waiting (queued, sending) or failed, by state
    notifications: dict[str, int]  # escalations and alerts waiting or failed, by state


def desk_state(conn: Connection) -> DeskState:
    c, m = t.conversations.c, t.messages.c
    is_open = c.status == Status.OPEN.value
    unassigned, assigned, breached = conn.execute(
        select(
            func.count(case((c.assignee_id.is_(None), 1))),
            func.count(case((c.assignee_id.is_not(None), 1))),
            func.count(case((c.sla_state == SlaState.BREACHED.value, 1))),
        ).where(is_open)
    ).one()
    untriaged = conn.execute(
        select(func.count()).where(and_(m.triage.is_(None), m.direction == "inbound"))
    ).scalar_one()
    return DeskState(
        open_unassigned=int(unassigned),
        open_assigned=int(assigned),
        open_breached=int(breached),
        untriaged=int(untriaged),
        outbox=_by_state(conn, t.outbox),
        notifications=_by_state(conn, t.notifications),
    )


# Sent items pile up for ever; only these are counted (a range of the (state, …) index).
UNFINISHED = tuple(
    s.value for s in (DeliveryState.QUEUED, DeliveryState.SENDING, DeliveryState.FAILED)
)


def _by_state(conn: Connection, table: Table) -> dict[str, int]:
    rows = conn.execute(
        select(table.c.state, func.count())
        .where(table.c.state.in_(UNFINISHED))
        .group_by(table.c.state)
    )
    found = dict.fromkeys(UNFINISHED, 0)
    found.update({str(state): int(n) for state, n in rows})
    return found
