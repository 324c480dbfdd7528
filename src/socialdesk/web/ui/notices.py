"""An agent's notices: mentions in colleagues' notes and follow-up reminders come due."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from socialdesk.queries.workspace import notices_of, unread_count
from socialdesk.services import workspace
from socialdesk.web.deps import DeskDep
from socialdesk.web.ui.auth import CurrentUser, PostedForm, frame
from socialdesk.web.ui.pages import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/notices", response_class=HTMLResponse)
def notices(desk: DeskDep, user: CurrentUser) -> Response:
    with desk.engine.connect() as conn:
        found = notices_of(conn, user.id, desk.clock.now())
    return render("ui/notices.html", frame(desk, user, notices=found))


@router.get("/ui/notices/badge", response_class=HTMLResponse)
def badge(desk: DeskDep, user: CurrentUser) -> Response:
    with desk.engine.connect() as conn:
        unread = unread_count(conn, user.id, desk.clock.now())
    return render("ui/_badge.html", {"unread": unread})


@router.post("/notices/read")
def read(desk: DeskDep, post: PostedForm) -> Response:
    """Mark the notices named (`id`, repeated), or all shown when none is named, as read."""
    ids = [int(v) for v in post.form.getlist("id") if isinstance(v, str) and v.isdigit()]
    if not ids:
        with desk.engine.connect() as conn:
            ids = [n.id for n in notices_of(conn, post.user.id, desk.clock.now()) if not n.read]
    workspace.read_notices(desk.uow(), post.user.agent, ids, desk.clock.now())
    return RedirectResponse("/notices", status_code=303)
