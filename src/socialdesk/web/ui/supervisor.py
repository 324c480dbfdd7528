"""The supervisor's pages, first two: team load and presence (with each agent's capacity and each
team's routing, both editable) and the SLA risk board. Supervisors and admins only.

The forms follow the workspace's rule: a change answers a redirect back (`?done=`), a refused
one shows the page again with the reason, what was typed, and the error's status. The helpers at
the top (role-checked forms, the typed values) serve the other supervisor modules too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from socialdesk.domain.agents import Role
from socialdesk.domain.errors import DomainError, Forbidden, InvalidInput
from socialdesk.domain.routing import ANY_PLATFORM, AssignmentMode, Capacity, Presence
from socialdesk.queries.configuration import (
    AgentRoutingView,
    list_agent_routing,
    list_calendars,
    list_sla_policies,
    list_team_routing,
)
from socialdesk.queries.inbox import MAX_LIMIT, InboxFilter, Sort, list_inbox
from socialdesk.queries.supervision import TeamQueue, last_assigned, team_queues
from socialdesk.services import routing
from socialdesk.services.routing import SKILL_KINDS
from socialdesk.web.deps import DeskDep
from socialdesk.web.errors import status_of
from socialdesk.web.ui.auth import Posted, PostedForm, SupervisorUser, User, frame
from socialdesk.web.ui.pages import PageRoute, render
from socialdesk.web.ui.session import CSRF_FIELD

router = APIRouter(route_class=PageRoute, include_in_schema=False)

DEFAULT_CAPACITY = {ANY_PLATFORM: 10}  # what routing assumes for an agent with none set
CAPACITY_ITEM = re.compile(r"^\s*([^=:\s]+)\s*[=:]\s*(\d{1,4})\s*$")
SLA_STATES = ("warning", "breached")
DONE = {
    "capacity": "Capacity saved; routing uses it for the next assignment.",
    "team": "Team routing saved.",
}


# -- shared by the supervisor pages ----------------------------------------------------------


def supervisor_form(post: PostedForm) -> Posted:
    if not post.user.agent.role.allows(Role.SUPERVISOR):
        raise Forbidden("this needs the supervisor or admin role")
    return post


def admin_form(post: PostedForm) -> Posted:
    if not post.user.agent.role.allows(Role.ADMIN):
        raise Forbidden("only admins may do this")
    return post


SupervisorForm = Annotated[Posted, Depends(supervisor_form)]
AdminForm = Annotated[Posted, Depends(admin_form)]


def typed(post: Posted, *secret: str) -> dict[str, str]:
    """What the form carried, to show again after a refusal (never the CSRF token or secrets)."""
    return {
        k: v
        for k, v in post.form.multi_items()
        if isinstance(v, str) and k != CSRF_FIELD and k not in secret
    }


def done_message(request: Request, messages: Mapping[str, str]) -> str | None:
    return messages.get(request.query_params.get("done", ""))


# -- capacity, as supervisors type it ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadCell:
    """What an agent holds on one platform against what they may hold there."""

    platform: str
    open: int
    limit: int

    @property
    def full(self) -> bool:
        return self.open >= self.limit


def capacity_text(capacity: Mapping[str, int]) -> str:
    """A capacity as the form shows it: 'email=10, x=5, *=3' (the default last)."""
    named = sorted((k, v) for k, v in capacity.items() if k != ANY_PLATFORM)
    if ANY_PLATFORM in capacity:
        named.append((ANY_PLATFORM, capacity[ANY_PLATFORM]))
    return ", ".join(f"{k}={v}" for k, v in named)


def parse_capacity(text: str) -> dict[str, int]:
    """'x=5, email=10, *=3' (commas, semicolons or new lines between; '=' or ':') as a capacity;
    empty means routing's default. InvalidInput says which part is wrong."""
    found: dict[str, int] = {}
    for part in re.split(r"[,;\n]", text):
        if not part.strip():
            continue
        match = CAPACITY_ITEM.match(part)
        if match is None:
            raise InvalidInput(
                f"{part.strip()!r} is not 'platform=number' (e.g. x=5, email=10, *=3)",
                field="capacity",
            )
        platform = match.group(1).casefold()
        if platform in found:
            raise InvalidInput(f"{platform!r} is given twice", field="capacity")
        found[platform] = int(match.group(2))
    return found


def load_cells(capacity: Mapping[str, int], open_by_platform: Mapping[str, int]) -> list[LoadCell]:
    """Each platform the agent holds work on or has a limit for, with that limit."""
    limits = Capacity(capacity or DEFAULT_CAPACITY)
    platforms = sorted({k for k in capacity if k != ANY_PLATFORM} | set(open_by_platform))
    return [LoadCell(p, open_by_platform.get(p, 0), limits.limit(p)) for p in platforms]


# -- team load and presence -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentRow:
    agent: AgentRoutingView
    cells: list[LoadCell]
    other_limit: int  # the limit on each platform not listed (0: takes none)
    open: int
    last_assigned_at: datetime | None
    capacity: str
    teams: list[str]


def _skills_text(skills: Mapping[str, list[str]]) -> dict[str, str]:
    return {kind: ", ".join(skills.get(kind, [])) for kind in SKILL_KINDS}


def team_page(
    desk: DeskDep,
    user: User,
    *,
    problem: str | None = None,
    status: int = 200,
    draft: dict[str, str] | None = None,
    draft_for: str = "",
    done: str | None = None,
) -> HTMLResponse:
    with desk.engine.connect() as conn:
        teams = list_team_routing(conn)
        agents = list_agent_routing(conn)
        queues = team_queues(conn)
        last = last_assigned(conn)
        calendars = [c.name for c in list_calendars(conn)]
        policies = [p.name for p in list_sla_policies(conn)]
    names = {team.id: team.name for team in teams}
    rows = []
    for a in agents:
        capacity = a.capacity or DEFAULT_CAPACITY
        rows.append(
            AgentRow(
                agent=a,
                cells=load_cells(a.capacity, a.open_by_platform),
                other_limit=capacity.get(ANY_PLATFORM, 0),
                open=sum(a.open_by_platform.values()),
                last_assigned_at=last.get(a.id),
                capacity=capacity_text(a.capacity),
                teams=[names[i] for i in a.team_ids if i in names],
            )
        )
    members = {team.id: [r for r in rows if team.id in r.agent.team_ids] for team in teams}
    presence = {p.value: sum(1 for a in agents if a.presence == p.value) for p in Presence}
    context = frame(
        desk,
        user,
        teams=teams,
        members=members,
        queues=queues,
        no_team=queues.get(None),
        empty_queue=TeamQueue(None, 0, 0, 0, 0, None),
        skills={team.id: _skills_text(team.skills) for team in teams},
        rows=rows,
        presence=presence,
        modes=[m.value for m in AssignmentMode],
        calendars=calendars,
        policies=policies,
        skill_kinds=SKILL_KINDS,
        problem=problem,
        done=done,
        draft=draft or {},
        draft_for=draft_for,
    )
    return render("ui/supervisor/team.html", context, status)


@router.get("/supervisor", response_class=HTMLResponse)
def team_load(request: Request, desk: DeskDep, user: SupervisorUser) -> Response:
    return team_page(desk, user, done=done_message(request, DONE))


def _refused(desk: DeskDep, post: Posted, error: DomainError, form: str) -> HTMLResponse:
    """The page again with the reason, and what was typed in the form (`form`) that failed."""
    return team_page(
        desk,
        post.user,
        problem=error.message,
        status=status_of(error),
        draft=typed(post),
        draft_for=form,
    )


@router.post("/supervisor/agents/{agent_id}/capacity")
def capacity(agent_id: int, desk: DeskDep, post: SupervisorForm) -> Response:
    try:
        routing.update_capacity(
            desk.uow(),
            agent_id,
            parse_capacity(post.text("capacity")),
            actor_id=post.user.id,
            now=desk.clock.now(),
        )
    except DomainError as exc:
        return _refused(desk, post, exc, f"agent-{agent_id}")
    return RedirectResponse("/supervisor?done=capacity", status_code=303)


@router.post("/supervisor/teams/{team_id}/routing")
def team_routing(team_id: int, desk: DeskDep, post: SupervisorForm) -> Response:
    try:
        routing.update_team(
            desk.uow(),
            team_id,
            actor_id=post.user.id,
            now=desk.clock.now(),
            skills={kind: post.text(kind).split(",") for kind in SKILL_KINDS},
            mode=post.text("assignment_mode"),
            calendar=post.text("calendar"),
            sla_policy=post.text("sla_policy"),
        )
    except DomainError as exc:
        return _refused(desk, post, exc, f"team-{team_id}")
    return RedirectResponse("/supervisor?done=team", status_code=303)


# -- the SLA risk board -----------------------------------------------------------------------


def due_kind(
    due: datetime | None,
    first_response: datetime | None,
    next_response: datetime | None,
    resolution: datetime | None,
) -> str:
    """Which clock the conversation's due time is (the soonest of its three)."""
    if due is None:
        return ""
    for label, at in (
        ("first response", first_response),
        ("next response", next_response),
        ("resolution", resolution),
    ):
        if at == due:
            return label
    return "response"


def risk_filter(params: Mapping[str, str]) -> tuple[InboxFilter, dict[str, str]]:
    """The board's filter from its query string: `team` (an id or 'none') and `state`."""
    team = params.get("team", "").strip()
    state = params.get("state", "").strip()
    if state and state not in SLA_STATES:
        raise InvalidInput("state must be warning or breached", field="state")
    if team and team != "none" and not team.isdigit():
        raise InvalidInput("team must be a team id or 'none'", field="team")
    wanted = InboxFilter(
        statuses=("open",),
        sla_states=(state,) if state else SLA_STATES,
        team_id=int(team) if team.isdigit() else None,
        no_team=team == "none",
    )
    return wanted, {"team": team, "state": state}


def _link(values: Mapping[str, str], cursor: str | None) -> str:
    return "/supervisor/sla?" + urlencode(
        {k: v for k, v in {**values, "cursor": cursor}.items() if v}
    )


@router.get("/supervisor/sla", response_class=HTMLResponse)
def sla_board(request: Request, desk: DeskDep, user: SupervisorUser) -> Response:
    wanted, values = risk_filter(request.query_params)
    cursor = request.query_params.get("cursor") or None
    with desk.engine.connect() as conn:
        page = list_inbox(conn, wanted, sort=Sort.SLA_DUE, cursor=cursor, limit=MAX_LIMIT)
        queues = team_queues(conn)
        teams = list_team_routing(conn)
    per_team: list[dict[str, Any]] = [
        {"id": str(team.id), "name": team.name, "queue": queues.get(team.id)} for team in teams
    ]
    per_team.append({"id": "none", "name": "no team", "queue": queues.get(None)})
    per_team = [row for row in per_team if row["queue"] is not None and row["queue"].at_risk]
    per_team.sort(key=lambda row: (-row["queue"].breached, -row["queue"].warning, row["name"]))
    kinds = {
        item.id: due_kind(
            item.sla_due_at,
            item.sla.first_response_due_at,
            item.sla.next_response_due_at,
            item.sla.resolution_due_at,
        )
        for item in page.items
    }
    context = frame(
        desk,
        user,
        page=page,
        kinds=kinds,
        per_team=per_team,
        totals={s: sum(getattr(q, s) for q in queues.values()) for s in SLA_STATES},
        teams=teams,
        values=values,
        next_link=_link(values, page.next_cursor) if page.next_cursor else None,
        first_link=_link(values, None) if cursor else None,
    )
    return render("ui/supervisor/sla.html", context)
