"""Reading from a streaming replica (SOCIALDESK_READ_DATABASE_URL), over real HTTP on a real
PostgreSQL primary and hot standby on 127.0.0.1: the inbox lists and analytics read the
replica, a single conversation and every write use the primary."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from socialdesk.bootstrap import bootstrap
from socialdesk.config import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.e2e.conftest import Api, serve_api
from tests.fakes import FrozenClock
from tests.support.postgres import Cluster, find_bindir, start_cluster, start_replica

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[Cluster, Cluster]]:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found; install Debian's postgresql")
    primary = start_cluster(bindir)
    try:
        admin = create_engine(primary.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE desk"))
        admin.dispose()
        replica = start_replica(primary)
        try:
            yield primary, replica
        finally:
            replica.stop()
    finally:
        primary.stop()


@pytest.fixture
def api(clusters: tuple[Cluster, Cluster]) -> Iterator[Api]:
    primary, replica = clusters
    settings = Settings(
        database_url=primary.url("desk"),
        read_database_url=replica.url("desk"),
        embedded_worker=False,
        secret_key=TEST_SECRET_KEY,
        _env_file=None,
    )
    desk = bootstrap(settings, clock=FrozenClock())
    try:
        with serve_api(desk) as served:
            yield served
    finally:
        desk.close()


def listed(api: Api) -> set[int]:
    r = api.get("/api/v1/conversations", params={"status": "all"}, as_="agent")
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


def eventually(check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


def test_lists_read_the_replica_and_single_reads_the_primary(api: Api) -> None:
    replica = api.desk.read_engine
    assert replica is not api.desk.engine
    with replica.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
    first = api.ingest("ann")
    eventually(lambda: first in listed(api))

    with replica.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        second = api.ingest("bob")
        time.sleep(0.3)
        assert listed(api) == {first}  # the list comes from the paused replica
        r = api.get(f"/api/v1/conversations/{second}", as_="agent")
        assert r.status_code == 200, r.text  # what was just written is read from the primary
        overview = api.get("/api/v1/analytics/overview", as_="supervisor")
        assert overview.status_code == 200, overview.text
    finally:
        with replica.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
    eventually(lambda: listed(api) == {first, second})


def test_a_replica_beside_sqlite_is_refused() -> None:
    with pytest.raises(ValueError, match="streaming replica of a PostgreSQL"):
        Settings(
            database_url="sqlite:///var/x.db",
            read_database_url="postgresql://replica/desk",
            _env_file=None,
        )
