"""Live updates: a Server-Sent Events stream per open page, fed from the events table.

Every change the desk makes is an event row with a growing id, written in the same transaction
as the change, so following the ids misses nothing and needs no broker: each stream asks for
rows after the last id it sent, once a second (a primary-key range scan). It sends `changed`
(the inbox and counts refresh) and `c<id>` for each conversation touched (an open conversation
refreshes its thread). Each message carries the last event id, so a browser that reconnects
resumes where it was. Works the same with several web processes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sse_starlette import EventSourceResponse, ServerSentEvent

from socialdesk.queries.workspace import Change, changes_after, latest_change
from socialdesk.web.deps import DeskDep
from socialdesk.web.ui.auth import CurrentUser
from socialdesk.web.ui.pages import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

POLL_SECONDS = 1.0


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


async def _events(request: Request, engine: Engine) -> AsyncIterator[ServerSentEvent]:
    start = _start(request)
    last = start if start is not None else await run_in_threadpool(_latest, engine)
    while not await request.is_disconnected():
        found = await run_in_threadpool(_after, engine, last)
        if found:
            last = found[-1].id
            touched = sorted({c.conversation_id for c in found if c.conversation_id is not None})
            yield ServerSentEvent(
                json.dumps({"conversations": touched, "last": last}), event="changed", id=str(last)
            )
            for conversation_id in touched:
                yield ServerSentEvent(str(last), event=f"c{conversation_id}")
            continue
        await asyncio.sleep(POLL_SECONDS)


@router.get("/ui/stream")
async def stream(request: Request, desk: DeskDep, _: CurrentUser) -> EventSourceResponse:
    return EventSourceResponse(
        _events(request, desk.engine), ping=15, headers={"Cache-Control": "no-store"}
    )
