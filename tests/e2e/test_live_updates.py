"""Live updates across web processes on PostgreSQL: a change committed by any process reaches
the event streams of every web process through LISTEN/NOTIFY at once, not at the next poll."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from socialdesk.adapters.db import change_feed
from socialdesk.bootstrap import Desk
from socialdesk.web.app import create_app
from tests import factories as f
from tests.conftest import open_desk
from tests.e2e.conftest import Web, serve_workspace
from tests.fakes import FrozenClock
from tests.support.server import live_server

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_desk(pg_url: str) -> Iterator[Desk]:
    with open_desk(pg_url, FrozenClock()) as desk:
        yield desk


def test_a_commit_wakes_the_feed_and_a_rollback_does_not(pg_desk: Desk) -> None:
    feed = pg_desk.change_feed()
    channel_id = f.channel(pg_desk.uow, "x", "@brand", pg_desk.clock.now())

    async def scenario() -> tuple[bool, bool]:
        listener = asyncio.create_task(feed.run())
        while not feed.listening:
            await asyncio.sleep(0.01)
        ticket = feed.ticket()
        with pg_desk.engine.begin() as conn:  # a transaction that notifies, then rolls back
            change_feed.announce(conn)
            conn.execute(text("SELECT 1"))
            conn.rollback()
        rolled_back = await _woken(ticket, 1.0)
        await asyncio.to_thread(f.conversation, pg_desk, channel_id, "m1")
        committed = await _woken(ticket, 5.0)
        listener.cancel()
        return rolled_back, committed

    assert asyncio.run(scenario()) == (False, True)


async def _woken(ticket: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(ticket.wait(), seconds)
    except TimeoutError:
        return False
    return True


@pytest.fixture
def two_processes(pg_desk: Desk) -> Iterator[Web]:
    """The workspace served twice on one database, as two web processes would: each app has its
    own change feed and listening connection."""
    with serve_workspace(pg_desk) as web, live_server(create_app(pg_desk, run_worker=False)):
        yield web


def test_a_change_made_elsewhere_reaches_an_open_stream_at_once(two_processes: Web) -> None:
    web = two_processes
    client = web.sign_in("agent")
    latest = _latest(web.desk)
    received: list[tuple[float, str]] = []
    connected = threading.Event()

    def read() -> None:
        with client.stream("GET", f"/ui/stream?after={latest}", timeout=30) as stream:
            connected.set()
            for line in stream.iter_lines():
                received.append((time.monotonic(), line))
                if re.fullmatch(r"event: c\d+", line):
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert connected.wait(10)
    time.sleep(1.5)  # the stream has read the table and now waits on the feed
    started = time.monotonic()
    conversation = f.conversation(web.desk, web.channel_id, "elsewhere")
    reader.join(timeout=change_feed.FALLBACK_SECONDS)
    assert not reader.is_alive(), f"nothing arrived within {change_feed.FALLBACK_SECONDS} s"
    arrived, last = received[-1]
    assert last == f"event: c{conversation}"
    assert arrived - started < change_feed.FALLBACK_SECONDS / 3  # woken, not polled


def _latest(desk: Desk) -> int:
    with desk.engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM events")).scalar_one())
