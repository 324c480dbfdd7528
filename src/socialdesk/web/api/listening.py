"""Listening and spike alerts over HTTP: saved queries (supervisors and admins change them; every
agent may read them), a query's matches over a range, and the alerts. A query that does not parse
is refused with 422 and the `position` (0-based character) the problem is at."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from socialdesk.domain.errors import NotFound
from socialdesk.queries.listening import (
    MAX_ALERTS,
    MAX_RECENT,
    AlertsPage,
    AlertState,
    Bucket,
    QueryMatches,
    QueryView,
    default_range,
    get_query,
    list_alerts,
    list_queries,
    query_matches,
)
from socialdesk.services import listening
from socialdesk.web.api.schemas import ListeningQueryIn, ListeningQueryUpdate
from socialdesk.web.deps import CurrentAgent, DeskDep, ReadConn, Supervisor
from socialdesk.web.routing import StrictJsonRoute

router = APIRouter(prefix="/api/v1", tags=["listening"], route_class=StrictJsonRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid API token"},
    403: {"description": "changing listening queries needs the supervisor role"},
    409: {"description": "another query has that name"},
    422: {"description": "the query does not parse: `field` and `position` say where"},
}


def _view(desk: DeskDep, query_id: int) -> QueryView:
    with desk.engine.connect() as conn:
        view = get_query(conn, query_id, desk.clock.now())
    if view is None:
        raise NotFound(f"listening query {query_id} does not exist")
    return view


@router.get("/listening/queries", responses=ERRORS)
def queries(conn: ReadConn, desk: DeskDep, _: CurrentAgent) -> list[QueryView]:
    """Every saved query with its matches in the last 24 hours and 7 days."""
    return list_queries(conn, desk.clock.now())


@router.post("/listening/queries", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def create(body: ListeningQueryIn, desk: DeskDep, supervisor: Supervisor) -> QueryView:
    """Save a query; new public posts are matched against it from now on."""
    saved = listening.create_query(
        desk.analytics_uow,
        supervisor,
        body.name,
        body.query,
        desk.clock.now(),
        active=body.active,
    )
    assert saved.id is not None
    return _view(desk, saved.id)


@router.get("/listening/queries/{query_id}", responses={404: {}, **ERRORS})
def query(query_id: int, desk: DeskDep, _: CurrentAgent) -> QueryView:
    return _view(desk, query_id)


@router.patch("/listening/queries/{query_id}", responses={404: {}, **ERRORS})
def change(
    query_id: int, body: ListeningQueryUpdate, desk: DeskDep, supervisor: Supervisor
) -> QueryView:
    """Rename it, change the query, or switch it off (`active: false`) and on."""
    listening.update_query(
        desk.analytics_uow,
        supervisor,
        query_id,
        desk.clock.now(),
        name=body.name,
        text=body.query,
        active=body.active,
    )
    return _view(desk, query_id)


@router.delete(
    "/listening/queries/{query_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {}, **ERRORS},
)
def delete(query_id: int, desk: DeskDep, supervisor: Supervisor) -> None:
    """Delete it with its record of matches (switch it off instead to keep the counts)."""
    listening.delete_query(desk.analytics_uow, supervisor, query_id, desk.clock.now())


@router.get("/listening/queries/{query_id}/matches", responses={404: {}, **ERRORS})
def matches(
    query_id: int,
    conn: ReadConn,
    desk: DeskDep,
    _: CurrentAgent,
    since: datetime | None = None,
    until: datetime | None = None,
    bucket: Bucket = "day",
    recent: Annotated[int, Query(ge=0, le=MAX_RECENT)] = 20,
) -> QueryMatches:
    """Matches per hour or per local day (the desk's time zone) in `[since, until)` — by
    default the last 7 days per day, or the last 48 hours per hour, up to the end of the
    current hour — and the newest posts."""
    view = _view(desk, query_id)
    default_since, default_until = default_range(desk.clock.now(), bucket)
    return query_matches(
        conn,
        view,
        since=since or default_since,
        until=until or default_until,
        bucket=bucket,
        tz=desk.settings.timezone,
        recent=recent,
    )


@router.get("/alerts", responses=ERRORS)
def alerts(
    conn: ReadConn,
    _: CurrentAgent,
    state: AlertState = "all",
    limit: Annotated[int, Query(ge=1, le=MAX_ALERTS)] = 50,
    cursor: str | None = None,
) -> AlertsPage:
    """Spike alerts, open ones first, newest first; `next_cursor` pages on."""
    return list_alerts(conn, state=state, limit=limit, cursor=cursor)
