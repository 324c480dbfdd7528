"""Backups of the desk's database and restores from them, for SQLite and PostgreSQL.

SQLite: the online backup API copies the database in one step, inside one read transaction, so
the copy is the database as of one commit even while the desk goes on writing (WAL: the reader
never blocks the writer). The copy is checked with `PRAGMA integrity_check` and switched to a
rollback journal, so the backup is one self-contained file. A restore goes through the same API
the other way (see `restore`).

PostgreSQL: `pg_dump --format=custom`, from a snapshot exported by our own connection, so the
row counts printed are those of the dump; a restore is `pg_restore --clean --if-exists
--no-owner` in a single transaction. The password travels in PGPASSWORD, never on a command line
(visible to every user in `ps`) and never in a message.

Every check of the input and the target runs before anything is written; a failure raises
`BackupError` with one line that says what to do.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from socialdesk.adapters.db.engine import make_engine, normalise_url
from socialdesk.adapters.db.migrate import MIGRATIONS, upgrade

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# What the summary counts, and what "holds data" means for a restore's target: a desk that has
# any of these has been used (a freshly migrated database has none).
KEY_TABLES = ("conversations", "messages", "customers", "channels", "agents")
CONTENT_TABLES = (*KEY_TABLES, "teams", "playbook_versions", "templates", "listening_queries")
CONNECT_TIMEOUT_SECONDS = 10


class BackupError(Exception):
    """A backup or restore that could not be done; the message is one line for the operator."""


@dataclass(frozen=True)
class Summary:
    """What a backup holds (or a restore left): for the operator to compare the two."""

    engine: str  # sqlite | postgresql
    location: str  # the file written or restored into; a database URL without its password
    size: int | None  # bytes of the backup file; None for a PostgreSQL database
    revision: str | None
    counts: Mapping[str, int] = field(default_factory=dict)


def back_up(url: str, output: Path) -> Summary:
    """Write a consistent copy of the database at `url` to `output` (which must not exist).

    Safe while the desk runs. The file appears only when complete and checked: it is written
    next to `output` under a temporary name and renamed.
    """
    if output.exists():
        raise BackupError(f"{output} already exists; choose another name or remove it first")
    if not output.parent.is_dir():
        raise BackupError(f"{output.parent} is not a directory")
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_back_up(_sqlite_path(parsed), output)
    if parsed.get_backend_name() == "postgresql":
        return _pg_back_up(parsed, output)
    raise BackupError(f"cannot back up a {parsed.get_backend_name()} database")


def restore(url: str, source: Path, *, force: bool = False) -> Summary:
    """Replace the database at `url` with the backup in `source`, then migrate it to this
    version's schema (the backup may come from an older one).

    Refuses a target that holds data unless `force`. The backup is checked (right engine,
    readable, a socialdesk schema this version knows) before the target is touched.
    """
    if not source.is_file():
        raise BackupError(f"{source} does not exist or is not a file")
    parsed = make_url(normalise_url(url))
    kind = _file_kind(source)
    engine = parsed.get_backend_name()
    if engine not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot restore into a {engine} database")
    if kind is None:
        raise BackupError(
            f"{source} is not a socialdesk backup (neither a SQLite database nor a pg_dump "
            "custom-format archive)"
        )
    if kind != engine:
        raise BackupError(
            f"{source} is a {_ENGINE_NAMES[kind]} backup but SOCIALDESK_DATABASE_URL names a "
            f"{_ENGINE_NAMES[engine]} database; restore it into a {_ENGINE_NAMES[kind]} one"
        )
    if engine == "sqlite":
        return _sqlite_restore(source, _sqlite_path(parsed), url, force=force)
    return _pg_restore(source, parsed, force=force)


_ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _file_kind(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    return None


def _known_revisions() -> set[str]:
    script = ScriptDirectory(str(MIGRATIONS))
    return {rev.revision for rev in script.walk_revisions()}


def _check_revision(source: Path, revision: str | None) -> None:
    if revision is None:
        raise BackupError(f"{source} holds no socialdesk schema (no alembic_version row)")
    if revision not in _known_revisions():
        raise BackupError(
            f"{source} comes from a newer socialdesk (schema {revision}); restore it with that "
            "version or a later one"
        )


def _counts(conn: Connection) -> dict[str, int]:
    names = set(inspect(conn).get_table_names())
    return {
        name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())  # noqa: S608 (names from KEY_TABLES)
        for name in KEY_TABLES
        if name in names
    }


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if found is None else str(found)


def _holds_data(conn: Connection) -> list[str]:
    """The content tables with at least one row."""
    names = set(inspect(conn).get_table_names())
    return [
        name
        for name in CONTENT_TABLES
        if name in names
        and conn.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first() is not None  # noqa: S608 (names from CONTENT_TABLES)
    ]


def _refuse_if_data(conn: Connection, where: str, force: bool) -> None:
    if force:
        return
    used = _holds_data(conn)
    if used:
        raise BackupError(
            f"{where} already holds data ({', '.join(used)}); pass --force to replace it "
            "(back it up first)"
        )


# -- SQLite --------------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


@contextlib.contextmanager
def _sqlite(path: Path, mode: str) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection (mode ro, rw or rwc) that waits for locks like the desk does;
    `mode=rw` never creates a missing file by accident."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open the SQLite database {path}: {exc}") from exc
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        yield conn
    finally:
        conn.close()


def _sqlite_engine(path: Path) -> Engine:
    return create_engine(f"sqlite:///{path}", poolclass=NullPool)


def _sqlite_summary(path: Path) -> Summary:
    engine = _sqlite_engine(path)
    try:
        with engine.connect() as conn:
            return Summary("sqlite", str(path), path.stat().st_size, _revision(conn), _counts(conn))
    finally:
        engine.dispose()


def _integrity(conn: sqlite3.Connection) -> str:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "ok" if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:3])


def _sqlite_back_up(database: Path, output: Path) -> Summary:
    if not database.is_file():
        raise BackupError(f"there is no SQLite database at {database}")
    handle, name = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    os.close(handle)
    partial = Path(name)
    try:
        with _sqlite(database, "rw") as source, _sqlite(partial, "rw") as copy:
            if _revision_of(source) is None:
                raise BackupError(f"{database} holds no socialdesk schema; nothing to back up")
            # pages=-1: the whole database in one step, so in one read transaction (a stepwise
            # copy would start over each time the desk commits, possibly forever on a busy desk).
            source.backup(copy, pages=-1)
            problem = _integrity(copy)
            if problem != "ok":
                raise BackupError(f"the copy of {database} failed its integrity check: {problem}")
            # A rollback journal instead of WAL: the backup is one file, readable read-only.
            copy.execute("PRAGMA journal_mode=DELETE")
        _fsync(partial)
        partial.replace(output)
    except sqlite3.Error as exc:
        raise BackupError(f"backing up {database} failed: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return _sqlite_summary(output)


def _revision_of(conn: sqlite3.Connection) -> str | None:
    has = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if has is None:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def _sqlite_restore(source: Path, target: Path, url: str, *, force: bool) -> Summary:
    """Copy `source` over `target` with the backup API, in one write transaction.

    Not a file replace: a WAL database has `-wal` and `-shm` files beside it, and a stale `-wal`
    left next to a replaced file would be replayed onto it (corruption); the backup API writes
    through SQLite's own locking and journal, so a crash midway leaves the old database intact.
    Stop `serve` first all the same: a running desk keeps caches (the live playbook, the event
    ids its streams follow) that a restore underneath it would leave stale.
    """
    with _sqlite(source, "ro") as backup:
        try:
            problem = _integrity(backup)
            revision = _revision_of(backup)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a readable SQLite database: {exc}") from exc
        if problem != "ok":
            raise BackupError(f"{source} failed its integrity check: {problem}")
        _check_revision(source, revision)
        if target.exists():
            engine = _sqlite_engine(target)
            try:
                with engine.connect() as conn:
                    _refuse_if_data(conn, str(target), force)
            except DBAPIError as exc:
                raise BackupError(f"cannot read {target}: {_first_line(exc.orig)}") from exc
            finally:
                engine.dispose()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with _sqlite(target, "rwc") as live:
                backup.backup(live, pages=-1)
        except (OSError, sqlite3.Error) as exc:
            raise BackupError(f"restoring into {target} failed: {exc}") from exc
    _migrate(url)
    return _sqlite_summary(target)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


# -- PostgreSQL ----------------------------------------------------------------------------------


def find_pg_tool(name: str) -> Path:
    """pg_dump or pg_restore: on PATH, else in `pg_config --bindir`, else the newest of Debian's
    /usr/lib/postgresql/*/bin (a client no older than the server is needed)."""
    found = shutil.which(name)
    if found:
        return Path(found)
    config = shutil.which("pg_config")
    if config:
        out = _run([config, "--bindir"])
        candidate = Path(out.stdout.strip()) / name
        if out.returncode == 0 and candidate.is_file():
            return candidate
    versions = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(re.sub(r"\D", "", Path(p).parts[-3]) or 0),
    )
    if versions:
        return Path(versions[-1])
    raise BackupError(
        f"{name} not found (PATH, pg_config --bindir, /usr/lib/postgresql/*/bin); install the "
        "PostgreSQL client of your server's version or newer (Debian: postgresql-client)"
    )


def _run(args: list[str], env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL client program found by `find_pg_tool`: an argument list, no shell, and
    no secret among the arguments (the password is in `env`)."""
    return subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (see above)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The connection URI for pg_dump/pg_restore without the password, and an environment with
    the password in PGPASSWORD."""
    # URL.set(password=None) would keep the password (None means "unchanged" there)
    bare = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    uri = bare.render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    env.setdefault("PGCONNECT_TIMEOUT", str(CONNECT_TIMEOUT_SECONDS))
    return uri, env


def _where(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=True)


def _first_line(exc: BaseException | None) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _tool_error(result: subprocess.CompletedProcess[str]) -> str:
    """The line of a pg tool's stderr that says what went wrong (the last error it printed)."""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line or "FATAL" in line]
    return (errors or lines or [f"exit status {result.returncode}"])[-1]


@contextlib.contextmanager
def _pg_connection(url: URL) -> Iterator[Connection]:
    engine = create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    try:
        try:
            conn = engine.connect()
        except DBAPIError as exc:
            reason = _first_line(exc.orig)
            if "does not exist" in reason:
                reason += f"; create it first (createdb {url.database})"
            raise BackupError(f"cannot reach the database at {_where(url)}: {reason}") from exc
        with conn:
            yield conn
    finally:
        engine.dispose()


def _pg_back_up(url: URL, output: Path) -> Summary:
    pg_dump = find_pg_tool("pg_dump")
    pg_restore = find_pg_tool("pg_restore")
    uri, env = _libpq(url)
    handle, name = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    os.close(handle)
    partial = Path(name)
    try:
        with _pg_connection(url) as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                revision = _revision(conn)
                if revision is None:
                    raise BackupError(
                        f"{_where(url)} holds no socialdesk schema; nothing to back up"
                    )
                # pg_dump reads the snapshot this transaction exported, so the counts printed
                # are exactly what the dump holds, however busy the desk is.
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                counts = _counts(conn)
                dumped = _run(
                    [
                        str(pg_dump),
                        "--format=custom",
                        "--no-password",
                        f"--snapshot={snapshot}",
                        f"--file={partial}",
                        f"--dbname={uri}",
                    ],
                    env,
                )
        if dumped.returncode != 0:
            raise BackupError(f"pg_dump failed: {_tool_error(dumped)}")
        listed = _run([str(pg_restore), "--list", str(partial)])
        if listed.returncode != 0:
            raise BackupError(f"the dump could not be read back: {_tool_error(listed)}")
        _fsync(partial)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return Summary("postgresql", str(output), output.stat().st_size, revision, counts)


_TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (\S+) (\S+) ")


def _dump_contents(pg_restore: Path, source: Path) -> tuple[set[str], str | None]:
    """The tables in a custom-format dump and the alembic revision in its data."""
    listed = _run([str(pg_restore), "--list", str(source)])
    if listed.returncode != 0:
        raise BackupError(f"{source} is not a readable pg_dump archive: {_tool_error(listed)}")
    tables = {m.group(2) for line in listed.stdout.splitlines() if (m := _TOC_TABLE.match(line))}
    if "alembic_version" not in tables:
        raise BackupError(f"{source} is a pg_dump archive but not of a socialdesk database")
    data = _run(
        [str(pg_restore), "--data-only", "--table=alembic_version", "--file=-", str(source)]
    )
    if data.returncode != 0:
        raise BackupError(f"{source} could not be read: {_tool_error(data)}")
    lines = data.stdout.splitlines()
    revision = None
    for number, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and number + 1 < len(lines):
            found = lines[number + 1].strip()
            revision = None if found == "\\." else found
    return tables, revision


def _pg_restore(source: Path, url: URL, *, force: bool) -> Summary:
    """Restore a custom-format dump with pg_restore in one transaction, so a failure midway
    leaves the database as it was.

    Tables of the target that the dump lacks (a newer schema, migrated before the restore) are
    dropped first, or the migration afterwards would find them in its way; that happens only
    when the target holds no data or with `force`. Owners and grants are not restored
    (--no-owner --no-privileges): the objects belong to the user of SOCIALDESK_DATABASE_URL,
    and roles of the old server need not exist on this one.
    """
    pg_restore = find_pg_tool("pg_restore")
    tables, revision = _dump_contents(pg_restore, source)
    _check_revision(source, revision)
    uri, env = _libpq(url)
    with _pg_connection(url) as conn:
        _refuse_if_data(conn, _where(url), force)
        extra = sorted(set(inspect(conn).get_table_names()) - tables)
        conn.rollback()  # end the checks' read transaction
        with conn.begin():
            for name in extra:
                conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    restored = _run(
        [
            str(pg_restore),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={uri}",
            str(source),
        ],
        env,
    )
    if restored.returncode != 0:
        raise BackupError(f"pg_restore failed, nothing was restored: {_tool_error(restored)}")
    _migrate(url.render_as_string(hide_password=False))
    with _pg_connection(url) as conn:
        return Summary("postgresql", _where(url), None, _revision(conn), _counts(conn))


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
