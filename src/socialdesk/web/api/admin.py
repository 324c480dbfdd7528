"""Channels, users, teams and API tokens: what admins set up before agents start."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from starlette.concurrency import run_in_threadpool

from socialdesk.domain.agents import Role
from socialdesk.domain.errors import Forbidden, NotFound
from socialdesk.queries.directory import (
    ChannelView,
    QuarantineView,
    TeamView,
    UserView,
    get_channel,
    get_quarantined,
    list_channels,
    list_quarantine,
    list_teams,
    list_users,
)
from socialdesk.services import agents as agent_service
from socialdesk.services.channels import create_channel, update_channel
from socialdesk.web.api.schemas import (
    ChannelIn,
    ChannelUpdateIn,
    ConnectorOut,
    TeamIn,
    TokenIn,
    TokenOut,
    UserIn,
)
from socialdesk.web.deps import Admin, CurrentAgent, DeskDep, ReadConn, Supervisor
from socialdesk.web.routing import StrictJsonRoute

router = APIRouter(prefix="/api/v1", route_class=StrictJsonRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not JSON or not UTF-8"},
    401: {"description": "no valid API token"},
    403: {"description": "the role may not do this"},
    409: {"description": "exists already"},
    415: {"description": "the body is not JSON"},
    422: {"description": "invalid input; nothing was changed"},
}


@router.get("/channels", tags=["channels"], responses=ERRORS)
def channels(conn: ReadConn, _: Admin) -> list[ChannelView]:
    """Connected channels; credentials are masked."""
    return list_channels(conn)


@router.post("/channels", tags=["channels"], status_code=status.HTTP_201_CREATED, responses=ERRORS)
def add_channel(body: ChannelIn, desk: DeskDep, admin: Admin) -> ChannelView:
    """Connect an account on a platform. Its id is the `{channel}` in webhook paths."""
    channel = create_channel(
        desk.uow(), desk.secrets, admin, body.platform, body.name, body.settings, desk.clock.now()
    )
    assert channel.id is not None
    with desk.engine.connect() as conn:
        view = get_channel(conn, channel.id)
    assert view is not None
    return view


@router.get("/channels/{channel_id}", tags=["channels"], responses={404: {}, **ERRORS})
def channel(channel_id: int, conn: ReadConn, _: Admin) -> ChannelView:
    view = get_channel(conn, channel_id)
    if view is None:
        raise NotFound(f"channel {channel_id} does not exist")
    return view


@router.patch("/channels/{channel_id}", tags=["channels"], responses={404: {}, **ERRORS})
def change_channel(
    channel_id: int, body: ChannelUpdateIn, desk: DeskDep, admin: Admin
) -> ChannelView:
    """Change settings (credentials are encrypted; an empty value removes a setting) or switch
    the channel off and on."""
    update_channel(
        desk.uow(),
        desk.secrets,
        admin,
        channel_id,
        body.settings,
        desk.clock.now(),
        active=body.active,
    )
    with desk.engine.connect() as conn:
        view = get_channel(conn, channel_id)
    assert view is not None
    return view


@router.get("/connectors", tags=["channels"], responses=ERRORS)
def connectors(desk: DeskDep, _: Admin) -> list[ConnectorOut]:
    """The installed platform connectors: what each serves and which channel settings it reads."""
    return [
        ConnectorOut(
            name=c.name,
            platforms=[asdict(p) for p in c.platforms],
            features=sorted(c.features),
            settings=dict(c.settings),
            webhook_path=f"/webhooks/{c.name}/{{channel}}" if "webhook" in c.features else None,
        )
        for c in desk.connectors.all()
    ]


@router.get("/quarantine", tags=["channels"], responses=ERRORS)
def quarantine(
    conn: ReadConn,
    _: Admin,
    channel: int | None = None,
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[QuarantineView]:
    """Webhook deliveries that were signed but could not be read, newest first."""
    return list_quarantine(conn, channel_id=channel, before_id=before_id, limit=limit)


@router.post("/quarantine/{item_id}/replay", tags=["channels"], responses={404: {}, **ERRORS})
async def replay_quarantined(item_id: int, desk: DeskDep, _: Admin) -> QuarantineView:
    """Read a quarantined delivery again (after a fix) and take in what it carries."""
    await run_in_threadpool(desk.replay_quarantined, item_id)
    with desk.engine.connect() as conn:
        view = get_quarantined(conn, item_id)
    assert view is not None
    return view


@router.get("/users", tags=["users"], responses=ERRORS)
def users(conn: ReadConn, _: Supervisor) -> list[UserView]:
    return list_users(conn)


@router.post("/users", tags=["users"], status_code=status.HTTP_201_CREATED, responses=ERRORS)
def add_user(body: UserIn, desk: DeskDep, conn: ReadConn, admin: Admin) -> UserView:
    agent = agent_service.create_agent(
        desk.uow(),
        desk.hasher,
        username=body.username,
        role=body.role,
        password=body.password,
        display_name=body.display_name,
        email=body.email,
        team_names=body.teams,
        now=desk.clock.now(),
        actor_id=admin.id,
    )
    return next(u for u in list_users(conn) if u.id == agent.id)


@router.get("/me", tags=["users"], responses=ERRORS)
def me(agent: CurrentAgent, conn: ReadConn) -> UserView:
    """Who the token belongs to."""
    return next(u for u in list_users(conn) if u.id == agent.id)


@router.get("/teams", tags=["users"], responses=ERRORS)
def teams(conn: ReadConn, _: CurrentAgent) -> list[TeamView]:
    return list_teams(conn)


@router.post("/teams", tags=["users"], status_code=status.HTTP_201_CREATED, responses=ERRORS)
def add_team(body: TeamIn, desk: DeskDep, admin: Admin) -> TeamView:
    team = agent_service.create_team(desk.uow(), body.name, desk.clock.now(), admin.id)
    assert team.id is not None
    return TeamView(team.id, team.name, team.created_at)


@router.post("/tokens", tags=["users"], status_code=status.HTTP_201_CREATED, responses=ERRORS)
def add_token(body: TokenIn, desk: DeskDep, agent: CurrentAgent) -> TokenOut:
    """A new API token for yourself (or, as admin, for any user); shown once."""
    username = body.username or agent.username
    if username != agent.username and not agent.role.allows(Role.ADMIN):
        raise Forbidden("only admins create tokens for other users")
    token, record = agent_service.create_token(
        desk.uow(),
        username=username,
        name=body.name,
        now=desk.clock.now(),
        expires_in=timedelta(days=body.expires_in_days) if body.expires_in_days else None,
        actor_id=agent.id,
    )
    assert record.id is not None
    return TokenOut(
        id=record.id,
        name=record.name,
        username=username,
        token=token,
        created_at=record.created_at,
        expires_at=record.expires_at,
    )


@router.delete(
    "/tokens/{token_id}",
    tags=["users"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {}, **ERRORS},
)
def revoke_token(token_id: int, desk: DeskDep, agent: CurrentAgent) -> None:
    """Revoke a token at once (yours, or any as admin)."""
    agent_service.revoke_token(desk.uow(), agent, token_id, desk.clock.now())
