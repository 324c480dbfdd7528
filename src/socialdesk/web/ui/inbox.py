"""The inbox: the unified queue with its built-in and saved views, filters and live rows.

The filter lives in the URL's query string, so a view is a link: built-in views are fixed
queries, a saved view is the query an agent kept under a name. The rows and the view counts are
fragments of their own, refreshed by htmx when the event stream says something changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from socialdesk.domain.errors import DomainError, InvalidInput
from socialdesk.domain.platforms import PLATFORM_NAME
from socialdesk.queries.inbox import (
    SENTIMENTS,
    InboxFilter,
    InboxPage,
    Sort,
    list_inbox,
    parse_statuses,
)
from socialdesk.queries.workspace import saved_views_of, view_counts, viewers
from socialdesk.services import workspace
from socialdesk.web.deps import DeskDep
from socialdesk.web.ui.auth import CurrentUser, PostedForm, User, frame
from socialdesk.web.ui.pages import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE = 50
VIEWS = {
    "all": "All open",
    "mine": "Mine",
    "unassigned": "Unassigned",
    "teams": "My teams",
    "at_risk": "SLA at risk",
}
FIELDS = ("view", "status", "platform", "sentiment", "intent", "tag", "q", "sort")


@dataclass(frozen=True, slots=True)
class Query:
    """The inbox's query string, checked: what the filter form shows and what the rows get."""

    values: dict[str, str]
    filters: InboxFilter
    sort: Sort

    def link(self, **changes: str | None) -> str:
        merged = {**self.values, **changes}
        return "?" + urlencode({k: v for k, v in merged.items() if v})

    @property
    def string(self) -> str:
        return urlencode({k: v for k, v in self.values.items() if v})


def parse_query(params: Mapping[str, str], user: User) -> Query:
    """The filter a query string asks for; InvalidInput names the parameter that is wrong."""
    values = {name: params.get(name, "").strip()[:200] for name in FIELDS}
    view = values["view"] or "all"
    if view not in VIEWS:
        raise InvalidInput(f"view must be one of {', '.join(VIEWS)}", field="view")
    platform = values["platform"] or None
    if platform is not None and not PLATFORM_NAME.match(platform):
        raise InvalidInput("platform is not a platform name", field="platform")
    sentiment = values["sentiment"] or None
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise InvalidInput("sentiment must be negative, neutral or positive", field="sentiment")
    try:
        sort = Sort(values["sort"] or Sort.PRIORITY.value)
    except ValueError as exc:
        raise InvalidInput(
            f"sort must be one of {', '.join(s.value for s in Sort)}", field="sort"
        ) from exc
    filters = InboxFilter(
        statuses=parse_statuses(values["status"] or "open"),
        platform=platform,
        assignee_id=user.id if view == "mine" else None,
        unassigned=view == "unassigned",
        team_ids=tuple(user.agent.team_ids) if view == "teams" else (),
        no_team=view == "teams" and not user.agent.team_ids,
        sla_states=("warning", "breached") if view == "at_risk" else (),
        sentiment=sentiment,
        intent=values["intent"] or None,
        tag=values["tag"] or None,
        text=values["q"] or None,
    )
    return Query(values, filters, sort)


def _rows(desk: DeskDep, user: User, query: Query, cursor: str | None) -> dict[str, Any]:
    now = desk.clock.now()
    with desk.read_engine.connect() as conn:
        page: InboxPage = list_inbox(
            conn, query.filters, sort=query.sort, cursor=cursor, limit=PAGE
        )
        watching = viewers(conn, [item.id for item in page.items], now, me=user.id)
    return {"page": page, "watching": watching, "query": query, "cursor": cursor}


@router.get("/", response_class=HTMLResponse)
def inbox(request: Request, desk: DeskDep, user: CurrentUser) -> Response:
    cursor = request.query_params.get("cursor") or None
    try:
        query = parse_query(request.query_params, user)
        rows = _rows(desk, user, query, cursor)
        problem = None
    except DomainError as exc:
        query = parse_query({}, user)
        rows = _rows(desk, user, query, None)
        problem = exc.message
    with desk.engine.connect() as conn:
        saved = saved_views_of(conn, user.id)
    context = frame(
        desk,
        user,
        **rows,
        saved=saved,
        views=VIEWS,
        sorts=[s.value for s in Sort],
        sentiments=SENTIMENTS,
        platforms=sorted({p.platform for c in desk.connectors.all() for p in c.platforms}),
        problem=problem,
    )
    return render("ui/inbox.html", context, 422 if problem else 200)


@router.get("/ui/inbox/rows", response_class=HTMLResponse)
def inbox_rows(request: Request, desk: DeskDep, user: CurrentUser) -> Response:
    query = parse_query(request.query_params, user)
    cursor = request.query_params.get("cursor") or None
    return render("ui/_rows.html", _rows(desk, user, query, cursor))


@router.get("/ui/inbox/counts", response_class=HTMLResponse)
def inbox_counts(request: Request, desk: DeskDep, user: CurrentUser) -> Response:
    with desk.read_engine.connect() as conn:
        counts = view_counts(conn, user.id, user.agent.team_ids)
        saved = saved_views_of(conn, user.id)
    active = request.query_params.get("view") or "all"
    return render(
        "ui/_counts.html", {"counts": counts, "views": VIEWS, "active": active, "saved": saved}
    )


@router.post("/ui/views")
def save_view(desk: DeskDep, post: PostedForm) -> Response:
    query = post.text("query")
    workspace.save_view(desk.uow(), post.user.agent, post.text("name"), query, desk.clock.now())
    return RedirectResponse("/?" + query.lstrip("?"), status_code=303)


@router.post("/ui/views/delete")
def delete_view(desk: DeskDep, post: PostedForm) -> Response:
    workspace.delete_view(desk.uow(), post.user.agent, post.text("name"))
    return RedirectResponse("/", status_code=303)
