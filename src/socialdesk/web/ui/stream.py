"""Live updates: a Server-Sent Events stream per open page, fed from the events table.

Every change the desk makes is an event row with a growing id, written in the same transaction
as the change, so following the ids misses nothing and needs no broker: each stream asks for
rows after the last id it sent (a primary-key range scan) whenever the process's change feed
wakes it: on PostgreSQL a NOTIFY from whichever process committed the events (so browsers on
any web process see changes at once), on SQLite once a second. It sends `changed` (the inbox
and counts refresh) and `c<id>` for each conversation touched (an open conversation refreshes
its thread). Each message carries the last event id, so a browser that reconnects resumes where
it was.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sse_starlette import EventSourceResponse, ServerSentEvent

from socialdesk.bootstrap import ChangeFeed
from socialdesk.queries.workspace import Change, changes_after, latest_change
from socialdesk.web.deps import DeskDep
from socialdesk.web.ui.auth import CurrentUser
from socialdesk.web.ui.pages import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LAG_RETRIES = 20  # looks after a wake on a replica without the events yet: 2 s in all
LAG_STEP_SECONDS = 0.1


def _latest(engine: Engine) -> int:
    with engine.connect() as conn:
        return latest_change(conn)


def _after(engine: Engine, after: int) -> list[Change]:
    with engine.connect() as conn:
        return changes_after(conn, after)


def _start(request: Request) -> int | None:
    """Where to resume: the last event the browser got (it sends Last-Event-ID when it
    reconnects), else the newest event when the page was drawn (`after`), so nothing that
    happened between drawing the page and opening the stream is missed."""
    for raw in (request.headers.get("last-event-id"), request.query_params.get("after")):
        if raw and raw.isdigit() and len(raw) < 19:
            return int(raw)
    return None


async def _events(
    request: Request, engine: Engine, feed: ChangeFeed, lagging: bool
) -> AsyncIterator[ServerSentEvent]:
    """`engine` is where the inbox reads: on a replica, a notification may come before the
    replica has the events, so after a wake that found nothing the stream looks again a few
    times (`lagging`), rather than sleep until the next change."""
    start = _start(request)
    last = start if start is not None else await run_in_threadpool(_latest, engine)
    retries = 0
    while not await request.is_disconnected():
        ticket = feed.ticket()
        found = await run_in_threadpool(_after, engine, last)
        if not found and retries:
            retries -= 1
            await asyncio.sleep(LAG_STEP_SECONDS)
            continue
        if found:
            retries = 0
            last = found[-1].id
            touched = sorted({c.conversation_id for c in found if c.conversation_id is not None})
            yield ServerSentEvent(
                json.dumps({"conversations": touched, "last": last}), event="changed", id=str(last)
            )
            for conversation_id in touched:
                yield ServerSentEvent(str(last), event=f"c{conversation_id}")
            continue
        if await feed.wait(ticket) and lagging:
            retries = LAG_RETRIES


@router.get("/ui/stream")
async def stream(request: Request, desk: DeskDep, _: CurrentUser) -> EventSourceResponse:
    return EventSourceResponse(
        _events(request, desk.read_engine, request.app.state.changes, desk.replica is not None),
        ping=15,
        headers={"Cache-Control": "no-store"},
    )
