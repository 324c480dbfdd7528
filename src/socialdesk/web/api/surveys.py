"""Surveys over HTTP: the CSAT/NPS questions asked after closes and their answers, for
supervisors and admins (docs/surveys.md). Days (`from`, `to`, both included) are UTC and select
by when the question was asked."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.reviews import day_range
from socialdesk.queries.surveys import MAX_PAGE, SurveyFilter, SurveyPage, list_surveys
from socialdesk.web.deps import DeskDep, ReadConn, Supervisor
from socialdesk.web.routing import StrictJsonRoute

router = APIRouter(prefix="/api/v1/surveys", tags=["surveys"], route_class=StrictJsonRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid API token"},
    403: {"description": "needs the supervisor role"},
    422: {"description": "invalid filter"},
}


@router.get("", responses=ERRORS)
def surveys(
    desk: DeskDep,
    conn: ReadConn,
    _: Supervisor,
    conversation: Annotated[int | None, Query(description="a conversation's id")] = None,
    answered: Annotated[bool | None, Query(description="true: with a score; false: none")] = None,
    first: Annotated[date | None, Query(alias="from", description="first day, UTC")] = None,
    last: Annotated[date | None, Query(alias="to", description="last day (included), UTC")] = None,
    before: Annotated[int | None, Query(description="`next_before` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> SurveyPage:
    """Surveys asked, newest first, with their state (open, answered, expired), score, how it
    was given (a message or the answer page), and the team and agent of the closed
    conversation."""
    if first is not None and last is not None and last < first:
        raise InvalidInput("`to` is before `from`", field="to")
    since, until = day_range(first, last)
    filters = SurveyFilter(conversation, answered, since, until)
    return list_surveys(conn, filters, desk.clock.now(), before=before, limit=limit)
