"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, a desk, a live server.

Storage tests take the `db_url` fixture, which runs each of them twice: on a real SQLite file and
on a throwaway PostgreSQL cluster that the session starts from Debian's binaries on 127.0.0.1
(skipped, with the reason shown, only where those binaries are missing; CI installs them). Each
test gets its own database, copied from a migrated template, so tests never see each other.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from socialdesk.adapters.db.engine import make_engine
from socialdesk.adapters.db.migrate import upgrade
from socialdesk.bootstrap import Desk, bootstrap
from socialdesk.config import Settings
from tests.fakes import FrozenClock
from tests.support.postgres import Cluster, find_bindir, start_cluster

TEMPLATE = "socialdesk_template"
# Channel credentials are encrypted with this key in tests (a real Fernet key, made once here).
TEST_SECRET_KEY = "r0Z5iS0lrmhxIcmc-GdVKXiAjWjx0WIw7xCQ3RF9eBA="


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    bindir = find_bindir()
    if bindir is None:
        yield None
        return
    cluster = start_cluster(bindir)
    engine = make_engine(cluster.admin_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {TEMPLATE}"))
    engine.dispose()
    template = make_engine(cluster.url(TEMPLATE))
    upgrade(template)
    template.dispose()
    try:
        yield cluster
    finally:
        cluster.stop()


def _fresh_postgres(cluster: Cluster, template: str | None = TEMPLATE) -> Iterator[str]:
    """A new database copied from `template` (None: PostgreSQL's own, so no schema at all)."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(cluster.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        copied = f" TEMPLATE {template}" if template else ""
        conn.execute(text(f"CREATE DATABASE {name}{copied}"))
    try:
        yield cluster.url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def sqlite_copy(template: Path, directory: Path) -> str:
    """The URL of a fresh SQLite database in `directory`, copied from the migrated template."""
    path = directory / "desk.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file, then (second run) a PostgreSQL database."""
    if request.param == "sqlite":
        yield sqlite_copy(sqlite_template, tmp_path)
        return
    cluster = request.getfixturevalue("pg_cluster")
    if cluster is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found; install Debian's postgresql")
    yield from _fresh_postgres(cluster)


@pytest.fixture
def empty_db_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second database on `db_url`'s engine with nothing in it, not even a schema (where a
    restore on a new server goes)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'empty' / 'desk.db'}"
        return
    yield from _fresh_postgres(request.getfixturevalue("pg_cluster"), template=None)


@pytest.fixture
def pg_url(pg_cluster: Cluster | None) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, for what only PostgreSQL does (LISTEN/NOTIFY)."""
    if pg_cluster is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found; install Debian's postgresql")
    yield from _fresh_postgres(pg_cluster)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@contextmanager
def open_desk(db_url: str, clock: FrozenClock) -> Iterator[Desk]:
    """A desk on an already migrated database, closed when the block ends (for fixtures of any
    scope)."""
    desk = bootstrap(
        Settings(
            database_url=db_url,
            embedded_worker=False,
            secret_key=TEST_SECRET_KEY,
            _env_file=None,
        ),
        clock=clock,
        migrate=False,
    )
    try:
        yield desk
    finally:
        desk.close()


@pytest.fixture
def desk(db_url: str, clock: FrozenClock) -> Iterator[Desk]:
    with open_desk(db_url, clock) as opened:
        yield opened
