"""The playbook over HTTP: versions (save, check, activate, roll back, diff, export) and the
backtest. Supervisors and admins change it; every agent may read it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from starlette.concurrency import run_in_threadpool

from socialdesk.domain.errors import NotFound
from socialdesk.queries.configuration import get_playbook_version, list_playbook_versions
from socialdesk.services import playbooks
from socialdesk.services.backtesting import backtest_candidate
from socialdesk.web.api.schemas import BacktestIn, PlaybookIn, PlaybookSourceIn, PlaybookVersionOut
from socialdesk.web.deps import CurrentAgent, DeskDep, ReadConn, Supervisor
from socialdesk.web.routing import StrictJsonRoute

router = APIRouter(prefix="/api/v1/playbooks", tags=["playbook"], route_class=StrictJsonRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid API token"},
    403: {"description": "changing the playbook needs the supervisor role"},
    404: {"description": "no such version"},
    422: {
        "description": "the playbook is not valid: `errors` lists every problem by line and rule"
    },
}


def _out(desk: DeskDep, number: int, *, source: bool = True) -> PlaybookVersionOut:
    version, changes = playbooks.version_diff(desk.uow(read_only=True), number)
    with desk.engine.connect() as conn:
        listed = get_playbook_version(conn, number)
    assert listed is not None
    return PlaybookVersionOut(
        version=version.version,
        comment=version.comment,
        author=listed.author,
        created_at=version.created_at,
        live=listed.live,
        activated_at=listed.activated_at,
        source=version.source if source else None,
        diff=changes if source else None,
    )


@router.get("", responses=ERRORS)
def versions(
    conn: ReadConn, _: CurrentAgent, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[PlaybookVersionOut]:
    """Saved versions, newest first; `live` marks the one in force."""
    return [
        PlaybookVersionOut(
            version=v.version,
            comment=v.comment,
            author=v.author,
            created_at=v.created_at,
            live=v.live,
            activated_at=v.activated_at,
        )
        for v in list_playbook_versions(conn, limit)
    ]


@router.post("", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def save(body: PlaybookIn, desk: DeskDep, supervisor: Supervisor) -> PlaybookVersionOut:
    """Save a new version (it is checked first; nothing is stored when it has errors) and, by
    default, make it live."""
    version = playbooks.save_version(
        desk.uow(),
        desk.parse_playbook,
        supervisor,
        body.source,
        body.comment,
        desk.clock.now(),
        activate=body.activate,
    )
    return _out(desk, version.version)


@router.post(":check", responses=ERRORS)
def check(body: PlaybookSourceIn, desk: DeskDep, _: CurrentAgent) -> dict[str, Any]:
    """Validate a playbook file without saving it."""
    with desk.uow(read_only=True) as unit:
        playbook = playbooks.check(unit, desk.parse_playbook, body.source, "playbook.yaml")
    return {"valid": True, "rules": len(playbook.rules), "targets": sorted(playbook.targets)}


@router.post(":rollback", responses=ERRORS)
def rollback(desk: DeskDep, supervisor: Supervisor) -> PlaybookVersionOut:
    """Make the version that was live before the current one live again."""
    version = playbooks.rollback(desk.uow(), desk.parse_playbook, supervisor, desk.clock.now())
    return _out(desk, version.version)


@router.post(":backtest", responses=ERRORS)
async def backtest(body: BacktestIn, desk: DeskDep, _: Supervisor) -> dict[str, Any]:
    """Replay stored messages through the candidate and the live version and compare them."""
    return await run_in_threadpool(
        lambda: backtest_candidate(
            desk.uow,
            desk.parse_playbook,
            desk.holidays,
            desk.policy.targets,
            body.source,
            now=desk.clock.now(),
            since=body.since,
        )
    )


@router.get("/live", responses=ERRORS)
def live(desk: DeskDep, _: CurrentAgent) -> PlaybookVersionOut:
    with desk.uow(read_only=True) as unit:
        current = unit.playbooks.live()
    if current is None:
        raise NotFound("no playbook is live yet; save one with POST /api/v1/playbooks")
    return _out(desk, current.version)


@router.get("/{number}", responses=ERRORS)
def version(number: int, desk: DeskDep, _: CurrentAgent) -> PlaybookVersionOut:
    """One version with its source and the diff against the one before."""
    return _out(desk, number)


@router.get("/{number}/export", responses=ERRORS, response_class=Response)
def export(number: int, desk: DeskDep, _: CurrentAgent) -> Response:
    """The version's file, as saved."""
    found, _diff = playbooks.version_diff(desk.uow(read_only=True), number)
    return Response(
        found.source,
        media_type="application/yaml",
        headers={"content-disposition": f'attachment; filename="playbook-v{number}.yaml"'},
    )


@router.post("/{number}/activate", responses=ERRORS)
def activate(number: int, desk: DeskDep, supervisor: Supervisor) -> PlaybookVersionOut:
    playbooks.activate(desk.uow(), desk.parse_playbook, supervisor, number, desk.clock.now())
    return _out(desk, number)
