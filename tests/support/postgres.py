"""A throwaway PostgreSQL cluster from Debian's binaries on 127.0.0.1, for tests and benchmarks.

`initdb` refuses to run as root, so as root the cluster is made and started as the `postgres`
system user (runuser). fsync is off: the cluster is thrown away at the end, and durability is the
engine's business, not what these tests measure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl live, or None when PostgreSQL is not installed."""
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(out.stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Cluster:
    bindir: Path
    root: Path
    port: int
    as_postgres_user: bool

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_postgres_user:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def stop(self) -> None:
        try:
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "immediate",
                "stop",
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# A standby needs at least the primary's max_connections.
PRIMARY_OPTIONS = "-c max_connections=200"


def _new_root(bindir: Path) -> Cluster:
    root = Path(tempfile.mkdtemp(prefix="socialdesk-pg-"))
    as_postgres = os.geteuid() == 0
    if as_postgres:
        shutil.chown(root, user="postgres", group="postgres")
    return Cluster(bindir, root, _free_port(), as_postgres)


def _start(cluster: Cluster, options: str) -> None:
    cluster._run(
        str(cluster.bindir / "pg_ctl"),
        "-D",
        str(cluster.root / "data"),
        "-o",
        f"-p {cluster.port} -k {cluster.root} -c listen_addresses=127.0.0.1 {options}",
        "-l",
        str(cluster.root / "log"),
        "-w",
        "start",
    )


def start_replica(primary: Cluster) -> Cluster:
    """A hot standby of `primary` on its own port, streaming from it (pg_basebackup -R writes
    the connection to the primary and the standby signal)."""
    replica = _new_root(primary.bindir)
    replica._run(
        str(primary.bindir / "pg_basebackup"),
        "-h",
        "127.0.0.1",
        "-p",
        str(primary.port),
        "-U",
        "postgres",
        "-D",
        str(replica.root / "data"),
        "-R",
        "-X",
        "stream",
        "--checkpoint=fast",
    )
    _start(replica, f"-c hot_standby=on {PRIMARY_OPTIONS}")
    return replica


def start_cluster(bindir: Path, *, durable: bool = False) -> Cluster:
    """Start a cluster; `durable` runs it as deployed (benchmarks measure the engine so): fsync
    and synchronous commit on (tests switch both off for speed) and a quarter of the machine's
    memory, at most 8 GB, for shared buffers, as docs/operations.md sizes it (the default 128 MB
    made a search at a million conversations read its matches from the OS's cache: a word in
    45,000 messages took 370 ms to gather instead of 80)."""
    cluster = _new_root(bindir)
    cluster._run(
        str(bindir / "initdb"),
        "-D",
        str(cluster.root / "data"),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C",
    )
    options = PRIMARY_OPTIONS
    if durable:
        memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        options += f" -c shared_buffers={min(memory_mb // 4, 8192)}MB"
    else:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _start(cluster, options)
    return cluster
