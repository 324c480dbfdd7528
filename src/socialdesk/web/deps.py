"""FastAPI dependencies: the desk, a read connection, the authenticated agent and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Connection

from socialdesk.bootstrap import Desk
from socialdesk.domain.agents import Agent, Role
from socialdesk.domain.errors import Forbidden, Unauthorized
from socialdesk.services.agents import authenticate_token, hash_token
from socialdesk.web.middleware import Metrics
from socialdesk.web.throttle import ApiThrottle

# Dependencies that only read request state are `async def`: FastAPI runs a plain `def`
# dependency in the thread pool, and each such hop costs more than the work itself.


async def get_desk(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


DeskDep = Annotated[Desk, Depends(get_desk)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def get_read_connection(desk: DeskDep) -> Iterator[Connection]:
    """A connection for queries; whatever it began is rolled back when the request ends."""
    with desk.engine.connect() as conn:
        yield conn


ReadConn = Annotated[Connection, Depends(get_read_connection)]


def get_replica_connection(desk: DeskDep) -> Iterator[Connection]:
    """A connection for the heavy reads that may lag the primary by a moment (lists, search,
    analytics): the streaming replica's when one is configured. Never for a read that must see
    the request's own write."""
    with desk.read_engine.connect() as conn:
        yield conn


ReplicaConn = Annotated[Connection, Depends(get_replica_connection)]


async def get_throttle(request: Request) -> ApiThrottle:
    throttle: ApiThrottle = request.app.state.throttle
    return throttle


def get_current_agent(
    request: Request, desk: DeskDep, throttle: Annotated[ApiThrottle, Depends(get_throttle)]
) -> Agent:
    """The token's agent, within the token's request budget; an address that sent too many
    wrong tokens is refused before its token is looked up."""
    address = request.client.host if request.client else "unknown"
    throttle.check_address(address)
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized(
            "send an API token as 'Authorization: Bearer <token>' "
            "(create one with `socialdesk token create --user NAME`)"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    try:
        agent = authenticate_token(desk.uow, token.strip(), desk.clock.now())
    except Unauthorized:
        throttle.failed(address)
        raise
    throttle.use(hash_token(token.strip()))
    return agent


CurrentAgent = Annotated[Agent, Depends(get_current_agent)]


def require(role: Role) -> Callable[[Agent], Awaitable[Agent]]:
    """A dependency that lets through agents whose role is at least `role`."""

    async def check(agent: CurrentAgent) -> Agent:
        if not agent.role.allows(role):
            raise Forbidden(f"this needs the {role.value} role; you are {agent.role.value}")
        return agent

    return check


Supervisor = Annotated[Agent, Depends(require(Role.SUPERVISOR))]
Admin = Annotated[Agent, Depends(require(Role.ADMIN))]
