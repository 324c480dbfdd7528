"""Live updates across processes: PostgreSQL LISTEN/NOTIFY wakes every web process's event
streams when any process commits events.

The event log writes `NOTIFY socialdesk_events` in the transaction that appends events, so the
notification goes out at commit and only if it commits (PostgreSQL folds repeats within one
transaction). Each web process keeps one listening connection (`ChangeFeed.run`, a task of the
app's lifespan) and wakes its streams, which then read the new events from the table as before:
the table stays the record (ids, replay with Last-Event-ID), the notification only says "look".
If the listening connection is lost, streams fall back to polling every second until it is back.
With SQLite one process does everything and the streams poll each second.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

CHANNEL = "socialdesk_events"
NOTIFY = text(f"NOTIFY {CHANNEL}")
POLL_SECONDS = 1.0  # between reads when nothing can wake a stream
FALLBACK_SECONDS = 15.0  # between reads while notifications wake streams (a safety net)
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)

log = structlog.get_logger("socialdesk.change_feed")


def announce(conn: Connection) -> None:
    """Tell listening processes, at commit, that events were appended (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(NOTIFY)


class ChangeFeed:
    """Wakes the streams of this process. A stream takes a `ticket` before it reads the table
    and then waits on it, so a notification that arrives between its read and its wait is not
    lost (the ticket is already set)."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url
        self._dsn = (
            url.set(drivername="postgresql").render_as_string(hide_password=False)
            if url.get_backend_name() == "postgresql"
            else None
        )
        self._event = asyncio.Event()
        self.listening = False

    def ticket(self) -> asyncio.Event:
        return self._event

    async def wait(self, ticket: asyncio.Event) -> bool:
        """Until a notification (after the ticket was taken): True; or the polling interval
        while nothing listens (SQLite, or the connection is lost), or the safety net: False."""
        if not self.listening:
            await asyncio.sleep(POLL_SECONDS)
            return False
        try:
            await asyncio.wait_for(ticket.wait(), FALLBACK_SECONDS)
        except TimeoutError:
            return False
        return True

    def wake(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after a lost connection (nothing to do on
        SQLite)."""
        if self._dsn is None:
            return
        import psycopg  # only PostgreSQL desks have it

        self._event = asyncio.Event()  # made in the loop that serves the streams
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._dsn, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening, failures = True, 0
                    self.wake()  # whatever was committed while not listening
                    async for _ in conn.notifies():
                        self.wake()
            except (psycopg.Error, OSError) as exc:
                log.warning("listen_lost", error=type(exc).__name__)
            finally:
                self.listening = False
            await asyncio.sleep(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)])
            failures += 1
