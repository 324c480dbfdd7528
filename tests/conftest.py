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


def _fresh_postgres(cluster: Cluster) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(cluster.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    try:
        yield cluster.url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file, then (second run) a PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "desk.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    cluster = request.getfixturevalue("pg_cluster")
    if cluster is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found; install Debian's postgresql")
    yield from _fresh_postgres(cluster)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def desk(db_url: str, clock: FrozenClock) -> Iterator[Desk]:
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
