"""Engines for SQLite and PostgreSQL, with the connection settings each needs.

SQLite: WAL (readers never wait for the writer), foreign keys on, a busy timeout, `synchronous`
FULL by default so that a committed message survives a power cut, and write transactions opened with
BEGIN IMMEDIATE: a deferred transaction that later writes can fail at once with "database is
locked" when another writer got in first; IMMEDIATE waits its turn instead. Read-only work opens a
plain deferred transaction and never blocks the writer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url

SQLITE_BEGIN = "socialdesk_sqlite_begin"
SQLITE_MMAP_BYTES = (
    2_147_418_112  # the most the sqlite3 module is built to map (SQLITE_MAX_MMAP_SIZE)
)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, sqlite_synchronous)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=True,
    )
    # Batches go in as psycopg's pipelined executemany of one short prepared INSERT; folding
    # them into multi-row INSERT texts makes psycopg re-parse thousands of placeholders each time.
    engine.dialect.use_insertmanyvalues_wo_returning = False
    return engine


def _sqlite_engine(url: str, database: str | None, synchronous: str) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so that "begin" below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA temp_store=MEMORY")
        # Reads through the map instead of a copy per page: index walks over a large desk (a
        # search's status walks, the queue) took half the time at 100,000 conversations. The
        # mapped pages are the OS's file cache, shared by every connection and process.
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def refresh_statistics(engine: Engine) -> None:
    """ANALYZE, so that plans fit the data after a bulk load; on PostgreSQL VACUUM (ANALYZE).

    Until PostgreSQL's autovacuum gets to a freshly filled table (up to a minute), the planner
    believes it nearly empty and may filter a key lookup instead of seeking the index for it:
    a lookup that then reads the whole table. SQLite's planner uses the same statistics.

    The VACUUM matters as much on PostgreSQL: until a vacuum marks the pages a rebuild wrote
    all-visible, an "index-only" scan of the rollups' scope index still visits the heap for
    every entry. When rebuilds still added each flush to the rows earlier ones wrote (3.5
    versions a row: 1.3 million updates of 370,000 rows, a 1 GB table), one team's 30-day
    series took 105 ms, and 17 ms after a 10 s VACUUM. VACUUM cannot run in a transaction,
    hence autocommit.
    """
    if is_sqlite(engine):
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")
