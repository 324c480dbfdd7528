"""Live updates: a Server-Sent Events stream per open page, fed from the events table.

Every change the desk makes is an event row with a growing id, written in the same transaction
as the change, so following the ids misses nothing and needs no broker: each stream asks for
rows after the last id it sent, once a second (a primary-key range scan). It sends `changed`
(the inbox and counts refresh) and `c<id>` for each conversation touched (an open conversation
refreshes its thread). Works the same with several web processes.
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


async def _events(request: Request, engine: Engine) -> AsyncIterator[ServerSentEvent]:
    last = await run_in_threadpool(_latest, engine)
    while not await request.is_disconnected():
        found = await run_in_threadpool(_after, engine, last)
        if found:
            last = found[-1].id
            touched = sorted({c.conversation_id for c in found if c.conversation_id is not None})
            yield ServerSentEvent(
                json.dumps({"conversations": touched, "last": last}), event="changed"
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
