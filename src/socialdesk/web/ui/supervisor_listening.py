"""The listening pages: the saved queries with their match counts (last 24 hours, last 7 days), a
form to write one (a query that does not parse comes back with the problem marked where it is,
the text as typed), each query's matches per day and its recent posts with the query's terms
marked; and the spike alerts, open ones first. Supervisors and admins only.

Post text is untrusted: the marked posts are handed to the template as plain pieces (text, marked
or not), which Jinja escapes one by one, so a `<mark>` is the only markup that reaches the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from socialdesk.domain.errors import DomainError, InvalidInput, NotFound
from socialdesk.domain.listening import (
    MAX_NAME,
    MAX_QUERY_CHARS,
    QueryError,
    highlights,
    parse_query,
)
from socialdesk.queries.listening import (
    MatchedPost,
    QueryMatches,
    QueryView,
    default_range,
    get_query,
    list_alerts,
    list_queries,
    query_matches,
)
from socialdesk.services import listening
from socialdesk.web.deps import DeskDep
from socialdesk.web.errors import status_of
from socialdesk.web.ui.auth import Posted, SupervisorUser, User, frame
from socialdesk.web.ui.pages import PageRoute, render
from socialdesk.web.ui.supervisor import SupervisorForm, done_message

router = APIRouter(route_class=PageRoute, include_in_schema=False)

RECENT_SHOWN = 30
ALERTS_SHOWN = 50
DONE = {
    "created": "Query saved: new public posts are matched against it from now on.",
    "updated": "Query saved.",
    "deleted": "Query deleted with its record of matches.",
}


@dataclass(frozen=True, slots=True)
class MarkedPost:
    """A matched post with its text in pieces, the query's terms marked (`True`)."""

    post: MatchedPost
    pieces: list[tuple[str, bool]]


def marked(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    pieces: list[tuple[str, bool]] = []
    last = 0
    for start, end in spans:
        if start > last:
            pieces.append((text[last:start], False))
        pieces.append((text[start:end], True))
        last = end
    if last < len(text) or not pieces:
        pieces.append((text[last:], False))
    return pieces


@dataclass
class Form:
    """The query form as shown: what was typed, and why it was refused."""

    name: str = ""
    query: str = ""
    active: bool = True
    problem: str | None = None
    field: str | None = None
    # The typed query cut where a parse error points: (before, the character, after).
    at: tuple[str, str, str] | None = None
    done: str | None = None


def _typed(post: Posted) -> Form:
    return Form(
        name=post.text("name"),
        query=post.text("query").replace("\r\n", "\n"),
        active=post.text("active") == "yes",
    )


def _refused(form: Form, error: DomainError) -> Form:
    form.problem, form.field = error.message, error.field
    if isinstance(error, QueryError):
        position = min(error.position, len(form.query))
        form.at = (
            form.query[:position],
            form.query[position : position + 1] or " ",
            form.query[position + 1 :],
        )
    return form


def _list_page(desk: DeskDep, user: User, form: Form, status: int = 200) -> HTMLResponse:
    with desk.engine.connect() as conn:
        queries = list_queries(conn, desk.clock.now())
    context = frame(
        desk, user, queries=queries, f=form, max_name=MAX_NAME, max_query=MAX_QUERY_CHARS
    )
    return render("ui/supervisor/listening.html", context, status)


def _query_page(
    desk: DeskDep,
    user: User,
    query_id: int,
    form: Form | None = None,
    status: int = 200,
    done: str | None = None,
) -> HTMLResponse:
    """The query's page; `form` is what was typed when a change was refused (else the saved
    query is shown in the form)."""
    now = desk.clock.now()
    with desk.engine.connect() as conn:
        view = get_query(conn, query_id, now)
        if view is None:
            raise NotFound(f"listening query {query_id} does not exist")
        since, until = default_range(now, "day")
        matches = query_matches(
            conn,
            view,
            since=since,
            until=until,
            bucket="day",
            tz=desk.settings.timezone,
            recent=RECENT_SHOWN,
        )
    zone = ZoneInfo(desk.settings.timezone)
    shown = form or Form(name=view.name, query=view.query, active=view.active, done=done)
    context = frame(
        desk,
        user,
        q=view,
        m=matches,
        posts=_marked(view, matches),
        days=[(c.start.astimezone(zone).strftime("%a %d %b"), c) for c in matches.counts],
        peak=max((c.matches for c in matches.counts), default=0),
        f=shown,
        max_name=MAX_NAME,
        max_query=MAX_QUERY_CHARS,
        timezone=desk.settings.timezone,
    )
    return render("ui/supervisor/listening_query.html", context, status)


def _marked(view: QueryView, matches: QueryMatches) -> list[MarkedPost]:
    try:
        query = parse_query(view.query)
    except InvalidInput:  # stored before a stricter parser: shown, not marked
        return [MarkedPost(p, [(p.text, False)]) for p in matches.recent]
    return [MarkedPost(p, marked(p.text, highlights(query, p.text))) for p in matches.recent]


@router.get("/supervisor/listening", response_class=HTMLResponse)
def queries(request: Request, desk: DeskDep, user: SupervisorUser) -> Response:
    return _list_page(desk, user, Form(done=done_message(request, DONE)))


@router.post("/supervisor/listening")
def create(desk: DeskDep, post: SupervisorForm) -> Response:
    form = _typed(post)
    try:
        saved = listening.create_query(
            desk.analytics_uow,
            post.user.agent,
            form.name,
            form.query,
            desk.clock.now(),
            active=form.active,
        )
    except DomainError as exc:
        return _list_page(desk, post.user, _refused(form, exc), status_of(exc))
    return RedirectResponse(f"/supervisor/listening/{saved.id}?done=created", status_code=303)


@router.get("/supervisor/listening/{query_id}", response_class=HTMLResponse)
def query(query_id: int, request: Request, desk: DeskDep, user: SupervisorUser) -> Response:
    return _query_page(desk, user, query_id, done=done_message(request, DONE))


@router.post("/supervisor/listening/{query_id}")
def update(query_id: int, desk: DeskDep, post: SupervisorForm) -> Response:
    form = _typed(post)
    try:
        listening.update_query(
            desk.analytics_uow,
            post.user.agent,
            query_id,
            desk.clock.now(),
            name=form.name,
            text=form.query,
            active=form.active,
        )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _query_page(desk, post.user, query_id, _refused(form, exc), status_of(exc))
    return RedirectResponse(f"/supervisor/listening/{query_id}?done=updated", status_code=303)


@router.post("/supervisor/listening/{query_id}/delete")
def delete(query_id: int, desk: DeskDep, post: SupervisorForm) -> Response:
    listening.delete_query(desk.analytics_uow, post.user.agent, query_id, desk.clock.now())
    return RedirectResponse("/supervisor/listening?done=deleted", status_code=303)


@router.get("/supervisor/alerts", response_class=HTMLResponse)
def alerts(request: Request, desk: DeskDep, user: SupervisorUser) -> Response:
    """Open alerts first, then closed ones, newest first; `cursor` pages on."""
    cursor = request.query_params.get("cursor") or None
    with desk.engine.connect() as conn:
        page = list_alerts(conn, limit=ALERTS_SHOWN, cursor=cursor)
    context = frame(desk, user, alerts=page.items, next_cursor=page.next_cursor, paged=bool(cursor))
    return render("ui/supervisor/alerts.html", context)
