"""Backups and restores on a real SQLite file and a real PostgreSQL database.

A backup taken while another connection writes holds whole transactions only, and everything
committed before it began; a restore into an empty database gives back every row of every table,
and the desk opens it at this version's schema.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from socialdesk.adapters.db import backup as backup_module
from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.backup import BackupError, back_up, restore
from socialdesk.bootstrap import Desk, bootstrap
from socialdesk.config import Settings
from socialdesk.queries.inbox import InboxFilter, list_inbox
from socialdesk.services.intake import ingest
from tests import factories as f
from tests.conftest import TEST_SECRET_KEY
from tests.factories import T0
from tests.fakes import FrozenClock
from tests.support.snapshot import snapshot

BATCH = 20


def fill(desk: Desk, threads: int = 30) -> None:
    """A small desk: a channel, an agent, customers with threads and brand replies."""
    x = f.channel(desk.uow)
    f.agent(desk.uow, "sam")
    items = []
    for i in range(threads):
        at = T0 + timedelta(minutes=i)
        items += [
            f.inbound(x, f"p{i}", f"my order {i} never came", author=f"u{i % 7}", at=at),
            f.outbound(x, f"b{i}", f"p{i}", at=at + timedelta(minutes=3)),
        ]
    ingest(desk.uow, items, now=T0, policy=desk.policy, source="test")


def desk_at(url: str) -> Desk:
    return bootstrap(
        Settings(
            database_url=url, embedded_worker=False, secret_key=TEST_SECRET_KEY, _env_file=None
        ),
        clock=FrozenClock(),
        migrate=False,
    )


def test_restore_into_an_empty_database_gives_back_every_row(
    desk: Desk, empty_db_url: str, tmp_path: Path
) -> None:
    fill(desk)
    written = back_up(desk.engine.url.render_as_string(hide_password=False), tmp_path / "b")
    assert written.counts == {
        "conversations": 30,
        "messages": 60,
        "customers": 7,
        "channels": 1,
        "agents": 1,
    }
    restored = restore(empty_db_url, tmp_path / "b")
    assert (restored.counts, restored.revision) == (written.counts, written.revision)
    again = desk_at(empty_db_url)
    try:
        assert snapshot(again.engine) == snapshot(desk.engine)
        current, head = again.schema_revisions()
        assert current == head
        with again.engine.connect() as conn:
            # every status, and by the words in a message: the search index came along too
            everything = ("open", "pending", "snoozed", "closed")
            page = list_inbox(conn, InboxFilter(statuses=everything, text="order"), limit=100)
        assert len(page.items) == 30
    finally:
        again.close()


def test_restore_over_a_migrated_empty_desk_drops_what_the_backup_lacks(
    desk: Desk, db_url: str, empty_db_url: str, tmp_path: Path
) -> None:
    source = bootstrap(
        Settings(database_url=empty_db_url, secret_key=TEST_SECRET_KEY, _env_file=None),
        clock=FrozenClock(),
    )
    try:
        fill(source, threads=5)
        back_up(empty_db_url, tmp_path / "b")
        # as a table added by a newer version's migration would be (the desk is empty)
        with desk.engine.begin() as conn:
            conn.execute(text("CREATE TABLE zz_newer (id integer)"))
        desk.engine.dispose()
        restore(db_url, tmp_path / "b")
        assert not inspect(desk.engine).has_table("zz_newer")
        assert snapshot(desk.engine) == snapshot(source.engine)
    finally:
        source.close()


def test_a_database_with_data_is_replaced_only_when_forced(
    desk: Desk, db_url: str, tmp_path: Path
) -> None:
    fill(desk, threads=3)
    back_up(db_url, tmp_path / "small")
    f.channel(desk.uow, name="@other")
    before = snapshot(desk.engine)
    with pytest.raises(BackupError, match=r"already holds data .*--force"):
        restore(db_url, tmp_path / "small")
    assert snapshot(desk.engine) == before
    desk.engine.dispose()  # SQLite: the restore writes under the desk's pooled connections
    restored = restore(db_url, tmp_path / "small", force=True)
    assert restored.counts["channels"] == 1
    assert len(snapshot(desk.engine)["channels"]) == 1


def test_a_backup_of_the_other_engine_or_no_backup_is_refused(
    desk: Desk, db_url: str, tmp_path: Path
) -> None:
    before = snapshot(desk.engine)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a backup\n")
    with pytest.raises(BackupError, match="not a socialdesk backup"):
        restore(db_url, text_file)
    other = tmp_path / "other"
    if db_url.startswith("sqlite"):
        other.write_bytes(b"PGDMP\x01\x0f\x00" + bytes(64))
        wanted = "is a PostgreSQL backup"
    else:
        other.write_bytes(b"SQLite format 3\x00" + bytes(84))
        wanted = "is a SQLite backup"
    with pytest.raises(BackupError, match=wanted):
        restore(db_url, other)
    with pytest.raises(BackupError, match="does not exist"):
        restore(db_url, tmp_path / "missing")
    assert snapshot(desk.engine) == before


def test_a_backup_never_overwrites_a_file(desk: Desk, db_url: str, tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="already exists"):
        back_up(db_url, existing)
    assert existing.read_bytes() == b"keep me"


@pytest.mark.postgres
def test_an_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    url = "postgresql://desk:s3cret-pw@127.0.0.1:1/desk"
    with pytest.raises(BackupError, match="cannot reach the database") as caught:
        back_up(url, tmp_path / "b")
    assert "s3cret-pw" not in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not list(tmp_path.iterdir())


# -- SQLite while the desk writes ------------------------------------------------------------


@pytest.fixture
def sqlite_desk(tmp_path: Path, sqlite_template: Path) -> Iterator[Desk]:
    path = tmp_path / "live.db"
    shutil.copyfile(sqlite_template, path)
    desk = desk_at(f"sqlite:///{path}")
    try:
        yield desk
    finally:
        desk.close()


def test_sqlite_backup_while_another_connection_writes_is_consistent(
    sqlite_desk: Desk, tmp_path: Path
) -> None:
    x = f.channel(sqlite_desk.uow)
    committed = 0
    enough = threading.Event()
    stop = threading.Event()

    def write() -> None:
        nonlocal committed
        batch = 0
        while not stop.is_set():
            items = [
                f.inbound(x, f"w{batch}-{i}", author=f"u{batch}-{i}", at=T0) for i in range(BATCH)
            ]
            ingest(sqlite_desk.uow, items, now=T0, policy=sqlite_desk.policy, source="test")
            batch += 1
            committed = batch * BATCH
            if batch >= 5:
                enough.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert enough.wait(30)
        before = committed
        summary = back_up(str(sqlite_desk.engine.url), tmp_path / "copy.db")
    finally:
        stop.set()
        writer.join(30)
    copied = summary.counts["messages"]
    assert copied >= before
    assert copied % BATCH == 0  # whole transactions only
    copy = create_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    with copy.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
        counted = conn.execute(select(func.sum(t.conversations.c.message_count))).scalar()
        raw = conn.execute(select(func.count()).select_from(t.raw_events)).scalar()
    copy.dispose()
    assert counted == raw == copied


def test_the_password_reaches_pg_tools_in_their_environment_only(
    desk: Desk, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's client programs only")
    calls: list[tuple[list[str], dict[str, str]]] = []
    real_run = backup_module._run

    def spy(args: list[str], env: Mapping[str, str] | None = None) -> Any:
        calls.append((args, dict(env or {})))
        return real_run(args, env)

    monkeypatch.setattr(backup_module, "_run", spy)
    # the test cluster trusts local connections, so any password is accepted and ignored
    url = make_url(db_url).set(password="pw-never-shown").render_as_string(hide_password=False)
    back_up(url, tmp_path / "b")
    dumps = [env for args, env in calls if Path(args[0]).name == "pg_dump"]
    assert len(dumps) == 1
    assert dumps[0]["PGPASSWORD"] == "pw-never-shown"
    assert not any("pw-never-shown" in arg for args, _ in calls for arg in args)


def test_a_database_that_does_not_exist_is_named_with_what_to_do(
    desk: Desk, db_url: str, tmp_path: Path
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite makes the file; PostgreSQL needs the database made first")
    back_up(db_url, tmp_path / "b")
    missing = make_url(db_url).set(database="no_such_desk").render_as_string(hide_password=False)
    with pytest.raises(
        BackupError, match=r"does not exist; create it first \(createdb no_such_desk\)"
    ):
        restore(missing, tmp_path / "b")
