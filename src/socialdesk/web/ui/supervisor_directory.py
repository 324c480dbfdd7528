"""The supervisor's view of the desk's set-up: channels and their health (last message, the
poller's last run and errors, deliveries in quarantine, which admins may read and replay), and
users and teams (admins create them here).

Reading is for supervisors and admins; what the API keeps to admins (a quarantined delivery's
body, replaying it, creating users and teams) is kept to admins here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from socialdesk.domain.agents import Role
from socialdesk.domain.errors import DomainError, InvalidInput
from socialdesk.queries.directory import (
    ChannelView,
    list_channels,
    list_quarantine,
    list_teams,
    list_users,
)
from socialdesk.services import agents as agent_service
from socialdesk.web.deps import DeskDep
from socialdesk.web.errors import status_of
from socialdesk.web.ui.auth import SupervisorUser, User, frame
from socialdesk.web.ui.pages import PageRoute, render
from socialdesk.web.ui.supervisor import AdminForm, done_message, typed

router = APIRouter(route_class=PageRoute, include_in_schema=False)

QUARANTINE_PAGE = 50
CHANNEL_DONE = {"replayed": "Delivery replayed; its outcome shows in the list."}
USER_DONE = {"user": "User created.", "team": "Team created."}


def _frame(
    request: Request,
    desk: DeskDep,
    user: User,
    done: Mapping[str, str],
    problem: str | None,
    **context: Any,
) -> dict[str, Any]:
    """The page's frame, whether the user is an admin, and the outcome of the last action."""
    return frame(
        desk,
        user,
        is_admin=user.agent.role.allows(Role.ADMIN),
        problem=problem,
        done=done_message(request, done),
        **context,
    )


# -- channels and their health ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelState:
    key: str  # off, failing, quarantine, waiting, ok
    text: str


def channel_state(channel: ChannelView) -> ChannelState:
    """The one thing to know first about a channel's traffic."""
    health = channel.health
    if not channel.active:
        return ChannelState("off", "switched off")
    if health.consecutive_poll_errors:
        n = health.consecutive_poll_errors
        return ChannelState("failing", f"{n} failed poll{'s' if n != 1 else ''} in a row")
    if health.quarantined:
        n = health.quarantined
        return ChannelState("quarantine", f"{n} deliver{'ies' if n != 1 else 'y'} in quarantine")
    if health.last_message_at is None:
        return ChannelState("waiting", "no message yet")
    return ChannelState("ok", "receiving")


def _number(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "").strip()
    if raw and not raw.isdigit():
        raise InvalidInput(f"{name} must be a number", field=name)
    return int(raw) if raw else None


def channels_page(
    request: Request,
    desk: DeskDep,
    user: User,
    *,
    problem: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    only = _number(request, "channel")
    before = _number(request, "before")
    with desk.engine.connect() as conn:
        channels = list_channels(conn)
        items = list_quarantine(conn, channel_id=only, before_id=before, limit=QUARANTINE_PAGE)
    context = _frame(
        request,
        desk,
        user,
        CHANNEL_DONE,
        problem,
        channels=channels,
        states={c.id: channel_state(c) for c in channels},
        names={c.id: c.name for c in channels},
        items=items,
        only=only,
        before=before,
        more=items[-1].id if len(items) == QUARANTINE_PAGE else None,
    )
    return render("ui/supervisor/channels.html", context, status)


@router.get("/supervisor/channels", response_class=HTMLResponse)
def channels(request: Request, desk: DeskDep, user: SupervisorUser) -> Response:
    return channels_page(request, desk, user)


@router.post("/supervisor/quarantine/{item_id}/replay")
def replay(item_id: int, request: Request, desk: DeskDep, post: AdminForm) -> Response:
    """Read a quarantined delivery again (after a fix) and take in what it carries."""
    try:
        desk.replay_quarantined(item_id)
    except DomainError as exc:
        return channels_page(request, desk, post.user, problem=exc.message, status=status_of(exc))
    return RedirectResponse("/supervisor/channels?done=replayed", status_code=303)


# -- users and teams ---------------------------------------------------------------------------


def users_page(
    request: Request,
    desk: DeskDep,
    user: User,
    *,
    problem: str | None = None,
    status: int = 200,
    draft: dict[str, Any] | None = None,
) -> HTMLResponse:
    with desk.engine.connect() as conn:
        users = list_users(conn)
        teams = list_teams(conn)
    members = {t.name: [u for u in users if t.name in u.teams and u.active] for t in teams}
    context = _frame(
        request,
        desk,
        user,
        USER_DONE,
        problem,
        users=users,
        teams=teams,
        members=members,
        roles=[r.value for r in Role],
        draft=draft or {},
    )
    return render("ui/supervisor/users.html", context, status)


@router.get("/supervisor/users", response_class=HTMLResponse)
def users(request: Request, desk: DeskDep, user: SupervisorUser) -> Response:
    return users_page(request, desk, user)


@router.post("/supervisor/users")
def add_user(request: Request, desk: DeskDep, post: AdminForm) -> Response:
    chosen = [v for v in post.form.getlist("teams") if isinstance(v, str) and v]
    try:
        try:
            role = Role(post.text("role"))
        except ValueError as exc:
            raise InvalidInput("choose a role: agent, supervisor or admin", field="role") from exc
        if not post.text("password"):
            raise InvalidInput(
                f"give the user a password of at least {agent_service.MIN_PASSWORD} characters",
                field="password",
            )
        agent_service.create_agent(
            desk.uow(),
            desk.hasher,
            username=post.text("username").strip(),
            role=role,
            password=post.text("password"),
            display_name=post.text("display_name").strip() or None,
            email=post.text("email").strip() or None,
            team_names=chosen,
            now=desk.clock.now(),
            actor_id=post.user.id,
        )
    except DomainError as exc:
        draft: dict[str, Any] = {**typed(post, "password", "teams"), "teams": chosen}
        return users_page(
            request, desk, post.user, problem=exc.message, status=status_of(exc), draft=draft
        )
    return RedirectResponse("/supervisor/users?done=user", status_code=303)


@router.post("/supervisor/teams")
def add_team(request: Request, desk: DeskDep, post: AdminForm) -> Response:
    try:
        agent_service.create_team(desk.uow(), post.text("name"), desk.clock.now(), post.user.id)
    except DomainError as exc:
        return users_page(
            request,
            desk,
            post.user,
            problem=exc.message,
            status=status_of(exc),
            draft={"team_name": post.text("name")},
        )
    return RedirectResponse("/supervisor/users?done=team", status_code=303)
