"""How the desk is run: templates, business-hours calendars, SLA policies, team routing, agent
capacity and presence, take-next, and who is viewing or typing in a conversation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from socialdesk.queries.configuration import (
    AgentRoutingView,
    CalendarView,
    SlaPolicyView,
    TeamRoutingView,
    TemplateView,
    list_agent_routing,
    list_calendars,
    list_sla_policies,
    list_team_routing,
    list_templates,
)
from socialdesk.queries.inbox import ConversationSummary, get_summary
from socialdesk.services import routing, sla, templates
from socialdesk.web.api.schemas import (
    ActivityIn,
    ActivityOut,
    CalendarIn,
    CapacityIn,
    PresenceIn,
    PresenceOut,
    RenderedOut,
    SlaPolicyIn,
    TeamRoutingIn,
    TemplateBodyIn,
    TemplateIn,
)
from socialdesk.web.deps import CurrentAgent, DeskDep, ReadConn, Supervisor
from socialdesk.web.routing import StrictJsonRoute

router = APIRouter(prefix="/api/v1", route_class=StrictJsonRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not JSON or not UTF-8"},
    401: {"description": "no valid API token"},
    403: {"description": "the role may not do this"},
    404: {"description": "no such thing"},
    409: {"description": "exists already"},
    422: {"description": "invalid input; nothing was changed"},
}


# -- templates -------------------------------------------------------------------------------


@router.get("/templates", tags=["templates"], responses=ERRORS)
def template_list(conn: ReadConn, _: CurrentAgent) -> list[TemplateView]:
    return list_templates(conn)


@router.post(
    "/templates", tags=["templates"], status_code=status.HTTP_201_CREATED, responses=ERRORS
)
def template_add(body: TemplateIn, desk: DeskDep, supervisor: Supervisor) -> TemplateView:
    """A saved reply; variables: {customer.name}, {customer.first_name}, {customer.handle},
    {agent.name}, {agent.first_name}, {conversation.id}, {channel.name}, {brand.name}."""
    t = templates.create_template(desk.uow(), supervisor, body.name, body.body, desk.clock.now())
    assert t.id is not None
    return TemplateView(t.id, t.name, t.body, t.updated_at)


@router.put("/templates/{name}", tags=["templates"], responses=ERRORS)
def template_change(
    name: str, body: TemplateBodyIn, desk: DeskDep, supervisor: Supervisor
) -> TemplateView:
    t = templates.update_template(desk.uow(), supervisor, name, body.body, desk.clock.now())
    assert t.id is not None
    return TemplateView(t.id, t.name, t.body, t.updated_at)


@router.delete(
    "/templates/{name}",
    tags=["templates"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ERRORS,
)
def template_delete(name: str, desk: DeskDep, supervisor: Supervisor) -> Response:
    """Delete a template; refused (409) while the live playbook uses it."""
    templates.delete_template(
        desk.uow(), supervisor, name, desk.clock.now(), parse=desk.parse_playbook
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/conversations/{conversation_id}/templates/{name}", tags=["templates"], responses=ERRORS
)
def template_render(
    conversation_id: int, name: str, desk: DeskDep, agent: CurrentAgent
) -> RenderedOut:
    """The template filled in for this conversation, with its length against the platform's
    limit (the composer shows it before the agent sends)."""
    with desk.uow(read_only=True) as unit:
        r = templates.render_for(unit, name, conversation_id, agent, desk.connectors.capabilities)
    return RenderedOut(
        template=r.template, text=r.text, length=r.length, max_length=r.max_length, fits=r.fits
    )


# -- calendars and SLA policies ------------------------------------------------------------------


@router.get("/calendars", tags=["sla"], responses=ERRORS)
def calendar_list(conn: ReadConn, _: CurrentAgent) -> list[CalendarView]:
    return list_calendars(conn)


@router.put("/calendars", tags=["sla"], responses=ERRORS)
def calendar_save(
    body: CalendarIn, desk: DeskDep, supervisor: Supervisor, conn: ReadConn
) -> CalendarView:
    """Create or replace a business-hours calendar (by name). Name one `default` to make it the
    calendar of teams without their own."""
    sla.save_calendar(
        desk.uow(),
        desk.holidays,
        name=body.name,
        timezone=body.timezone,
        weekly=dict(body.weekly),
        holiday_country=body.holiday_country,
        holiday_subdivision=body.holiday_subdivision,
        extra_holidays=body.extra_holidays,
        now=desk.clock.now(),
        actor_id=supervisor.id,
    )
    return next(c for c in list_calendars(conn) if c.name == body.name.strip())


@router.get("/sla-policies", tags=["sla"], responses=ERRORS)
def policy_list(conn: ReadConn, _: CurrentAgent) -> list[SlaPolicyView]:
    return list_sla_policies(conn)


@router.put("/sla-policies", tags=["sla"], responses=ERRORS)
def policy_save(
    body: SlaPolicyIn, desk: DeskDep, supervisor: Supervisor, conn: ReadConn
) -> SlaPolicyView:
    """Create or replace an SLA policy (by name). The one named `default` applies to every
    conversation whose team and rules set none."""
    sla.save_policy(
        desk.uow(),
        name=body.name,
        targets=body.targets,
        calendar=body.calendar,
        pause_when_pending=body.pause_when_pending,
        warn_before_minutes=body.warn_before_minutes,
        now=desk.clock.now(),
        actor_id=supervisor.id,
    )
    return next(p for p in list_sla_policies(conn) if p.name == body.name.strip())


# -- routing ------------------------------------------------------------------------------------


@router.get("/routing/teams", tags=["routing"], responses=ERRORS)
def team_routing(conn: ReadConn, _: CurrentAgent) -> list[TeamRoutingView]:
    return list_team_routing(conn)


@router.get("/routing/agents", tags=["routing"], responses=ERRORS)
def agent_routing(conn: ReadConn, _: CurrentAgent) -> list[AgentRoutingView]:
    """Every active agent's presence, capacity per platform (empty: the default of 10 on each
    platform), teams and the conversations they hold open or pending, per platform."""
    return list_agent_routing(conn)


@router.patch("/teams/{team_id}", tags=["routing"], responses=ERRORS)
def team_change(
    team_id: int, body: TeamRoutingIn, desk: DeskDep, supervisor: Supervisor, conn: ReadConn
) -> TeamRoutingView:
    """Skills, assignment mode (round_robin, least_loaded, manual), calendar, default SLA."""
    routing.update_team(
        desk.uow(),
        team_id,
        actor_id=supervisor.id,
        now=desk.clock.now(),
        skills=body.skills,
        mode=body.assignment_mode,
        calendar=body.calendar,
        sla_policy=body.sla_policy,
    )
    return next(t for t in list_team_routing(conn) if t.id == team_id)


@router.put("/users/{agent_id}/capacity", tags=["routing"], responses=ERRORS)
def capacity(
    agent_id: int, body: CapacityIn, desk: DeskDep, supervisor: Supervisor
) -> dict[str, int]:
    assert supervisor.id is not None
    agent = routing.update_capacity(
        desk.uow(), agent_id, body.capacity, actor_id=supervisor.id, now=desk.clock.now()
    )
    return dict(agent.capacity)


@router.post("/me/presence", tags=["routing"], responses=ERRORS)
def presence(body: PresenceIn, desk: DeskDep, agent: CurrentAgent) -> PresenceOut:
    """Online, away (keeps what you hold, gets nothing new) or offline (your open conversations
    go to team mates or back to the team queue)."""
    assert agent.id is not None
    moved = routing.change_presence(desk.uow(), agent.id, body.presence, desk.clock.now())
    if moved:
        desk.notify_work()
    return PresenceOut(presence=body.presence, reassigned=moved)


@router.post(
    "/queue:take-next",
    tags=["routing"],
    responses={204: {"description": "nothing you can take now"}, **ERRORS},
)
def take_next(desk: DeskDep, agent: CurrentAgent, response: Response) -> ConversationSummary | None:
    """Assign yourself the most urgent open conversation you can take (your teams', on a
    platform you have room for)."""
    assert agent.id is not None
    taken = routing.take_next_conversation(desk.uow(), agent.id, desk.clock.now())
    if taken is None:
        response.status_code = status.HTTP_204_NO_CONTENT
        return None
    with desk.engine.connect() as conn:
        return get_summary(conn, taken)


@router.post("/conversations/{conversation_id}/activity", tags=["routing"], responses=ERRORS)
def activity(
    conversation_id: int, body: ActivityIn, desk: DeskDep, agent: CurrentAgent
) -> list[ActivityOut]:
    """Say you are viewing or typing here (every ~10 s); answers who else is."""
    assert agent.id is not None
    others = routing.record_activity(
        desk.uow(), agent.id, conversation_id, body.kind, desk.clock.now(), body.seen_up_to
    )
    return [ActivityOut(agent_id=a.agent_id, kind=a.kind.value, at=a.at) for a in others]


@router.get("/conversations/{conversation_id}/activity", tags=["routing"], responses=ERRORS)
def who_is_here(conversation_id: int, desk: DeskDep, agent: CurrentAgent) -> list[ActivityOut]:
    assert agent.id is not None
    others = routing.who_is_here(
        desk.uow(read_only=True), conversation_id, agent.id, desk.clock.now()
    )
    return [ActivityOut(agent_id=a.agent_id, kind=a.kind.value, at=a.at) for a in others]
