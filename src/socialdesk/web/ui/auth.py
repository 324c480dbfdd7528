"""Signing in and out of the workspace, and the dependencies every page stands on: the signed-in
user (re-read on each request), the CSRF check of each form, role checks, the page frame.

Sign-in failures all say the same thing, each waits `login_failure_delay_seconds`, and after 5
failures for one username (or 20 from one address) in 15 minutes the form refuses to try.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from socialdesk.domain.agents import Agent, Role
from socialdesk.domain.errors import Forbidden, Unauthorized
from socialdesk.domain.routing import Presence
from socialdesk.queries.workspace import latest_change, unread_count
from socialdesk.services.agents import authenticate_password, end_sessions
from socialdesk.services.routing import change_presence
from socialdesk.web.deps import DeskDep
from socialdesk.web.ui.pages import NeedsLogin, PageRoute, render
from socialdesk.web.ui.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_COOKIE,
    SessionData,
    Sessions,
    login_csrf,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@dataclass(frozen=True, slots=True)
class User:
    """The signed-in agent and the CSRF token their forms carry."""

    agent: Agent
    csrf: str
    since: int  # the newest event when the request began: where the page's live stream starts

    @property
    def id(self) -> int:
        assert self.agent.id is not None
        return self.agent.id


@dataclass(frozen=True, slots=True)
class Posted:
    """A form a signed-in user sent, its CSRF token checked."""

    user: User
    form: FormData

    def text(self, name: str, default: str = "") -> str:
        value = self.form.get(name)
        return value if isinstance(value, str) else default


def sessions(request: Request) -> Sessions:
    found: Sessions = request.app.state.sessions
    return found


async def session_data(request: Request) -> SessionData:
    data = sessions(request).read(request)
    if data is None:
        raise NeedsLogin
    return data


def current_user(desk: DeskDep, data: Annotated[SessionData, Depends(session_data)]) -> User:
    # Where the page's stream starts, read where the stream and the inbox read: never newer
    # than what a page drawn from a lagging replica shows.
    with desk.read_engine.connect() as conn:
        since = latest_change(conn)
    with desk.uow(read_only=True) as uow:
        agent = uow.agents.get(data.agent_id)
    if agent is None or not agent.active or agent.session_epoch != data.epoch:
        raise NeedsLogin
    return User(agent, data.csrf, since)


CurrentUser = Annotated[User, Depends(current_user)]


async def checked_form(
    request: Request, data: Annotated[SessionData, Depends(session_data)]
) -> FormData:
    form = await request.form()
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), data.csrf.encode()):
        raise Forbidden(
            "this form has expired or did not come from this desk; reload the page and try again"
        )
    return form


def posted(user: CurrentUser, form: Annotated[FormData, Depends(checked_form)]) -> Posted:
    return Posted(user, form)


PostedForm = Annotated[Posted, Depends(posted)]


def supervisor(user: CurrentUser) -> User:
    if not user.agent.role.allows(Role.SUPERVISOR):
        raise Forbidden("this page is for supervisors and admins")
    return user


SupervisorUser = Annotated[User, Depends(supervisor)]


def frame(desk: DeskDep, user: User, **context: Any) -> dict[str, Any]:
    """What every page's frame shows: who is signed in, their CSRF token, unread notices."""
    with desk.engine.connect() as conn:
        unread = unread_count(conn, user.id, desk.clock.now())
    return {"me": user.agent, "csrf": user.csrf, "unread": unread, "since": user.since, **context}


def _next(raw: object) -> str:
    """Where to go after signing in: a path on this desk, never another site."""
    if isinstance(raw, str) and raw.startswith("/") and not raw.startswith(("//", "/\\")):
        return raw
    return "/"


def _login_page(request: Request, message: str | None, status: int, **values: str) -> Response:
    token = login_csrf(request)
    response = render(
        "ui/login.html",
        {
            "me": None,
            "csrf": token,
            "unread": 0,
            "message": message,
            "username": values.get("username", ""),
            "next": _next(values.get("next") or request.query_params.get("next")),
        },
        status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    if sessions(request).read(request) is not None:
        return RedirectResponse(_next(request.query_params.get("next")), status_code=303)
    return _login_page(request, None, 200)


@router.post("/login")
async def login(request: Request, desk: DeskDep) -> Response:
    form = await request.form()
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    target = _next(form.get("next"))
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    sent = str(form.get(CSRF_FIELD) or "")
    if not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
        return _login_page(
            request, "The form expired; please sign in again.", 403, username=username, next=target
        )
    if not username or not password:
        return _login_page(
            request, "Enter your username and password.", 422, username=username, next=target
        )
    store = sessions(request)
    address = request.client.host if request.client else "unknown"
    if not store.may_try(username, address):
        return _login_page(
            request,
            "Too many failed sign-ins. Wait 15 minutes, or ask an admin to reset your password.",
            429,
            username=username,
            next=target,
        )
    try:
        agent = await run_in_threadpool(
            authenticate_password, desk.uow, desk.hasher, username, password
        )
    except Unauthorized as exc:
        store.failed(username, address)
        await asyncio.sleep(desk.settings.login_failure_delay_seconds)
        return _login_page(
            request, f"{exc.message.capitalize()}.", 401, username=username, next=target
        )
    assert agent.id is not None
    if agent.presence == Presence.OFFLINE.value:
        await run_in_threadpool(
            change_presence, desk.uow(), agent.id, Presence.ONLINE.value, desk.clock.now()
        )
    response = RedirectResponse(target, status_code=303)
    store.start(response, request, agent.id, agent.session_epoch)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, desk: DeskDep, post: PostedForm) -> Response:
    """Sign out, on every browser the agent is signed in with."""
    end_sessions(desk.uow(), post.user.id, desk.clock.now())
    response = RedirectResponse("/login", status_code=303)
    sessions(request).end(response)
    return response


@router.post("/ui/presence")
def presence(request: Request, desk: DeskDep, post: PostedForm) -> Response:
    """Online, away or offline (going offline hands your open conversations on)."""
    change_presence(desk.uow(), post.user.id, post.text("presence"), desk.clock.now())
    back = request.headers.get("referer", "/")
    path = urlsplit(back).path if back else "/"
    return RedirectResponse(_next(path), status_code=303)
