"""The audit log over HTTP, for admins: every change people made, newest first, filtered by who,
what kind, which conversation and when; paged by `before_id`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.events import event_names
from socialdesk.queries.audit import MAX_AUDIT, AuditFilter, AuditPage, audit_log
from socialdesk.web.deps import Admin, ReadConn
from socialdesk.web.routing import StrictJsonRoute

router = APIRouter(prefix="/api/v1", tags=["audit"], route_class=StrictJsonRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the audit log needs the admin role"},
    422: {"description": "a filter is not valid; `field` says which"},
}


@router.get("/audit", responses=ERRORS)
def audit(
    conn: ReadConn,
    _: Admin,
    actor_id: Annotated[int | None, Query(ge=1, description="only this agent's actions")] = None,
    type: Annotated[
        list[str] | None, Query(description="event types, e.g. settings_changed (repeatable)")
    ] = None,
    conversation_id: Annotated[int | None, Query(ge=1)] = None,
    since: Annotated[datetime | None, Query(description="ISO time, inclusive")] = None,
    until: Annotated[datetime | None, Query(description="ISO time, exclusive")] = None,
    include_system: Annotated[
        bool, Query(description="also the desk's own events (intake, triage, playbook, SLA)")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT)] = 100,
    before_id: Annotated[int | None, Query(ge=1, description="next_before_id of a page")] = None,
) -> AuditPage:
    """Who did what and when, with before/after values for changes of the set-up."""
    types = tuple(type or ())
    unknown = sorted(set(types) - event_names())
    if unknown:
        raise InvalidInput(
            f"unknown event type {unknown[0]!r}; use one of {sorted(event_names())}", field="type"
        )
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone, e.g. 2026-12-01T00:00:00Z", field=name)
    where = AuditFilter(actor_id, types, conversation_id, since, until, include_system)
    return audit_log(conn, where, limit=limit, before_id=before_id)
