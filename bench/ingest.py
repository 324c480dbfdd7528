"""Ingest benchmark: batch ingest and TWCS import in messages/s, single-message latency at 100/s.

Runs the real thing: `socialdesk serve` in its own process (uvicorn, one worker) on a fresh
database, loaded over HTTP on 127.0.0.1 from this process; `socialdesk import` as a command.
SQLite runs with synchronous=FULL and PostgreSQL with fsync and synchronous_commit on, so every
acknowledged message is durable as in production. Prints one JSON document.

    python bench/ingest.py [--engines sqlite,postgresql] [--messages 20000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from datasets import messages, write_twcs  # noqa: E402
from tests.support.postgres import find_bindir, start_cluster  # noqa: E402

from socialdesk.bootstrap import Desk, bootstrap  # noqa: E402
from socialdesk.config import Settings  # noqa: E402
from socialdesk.domain.agents import Role  # noqa: E402
from socialdesk.heap import settle  # noqa: E402
from socialdesk.services.agents import create_agent, create_token  # noqa: E402
from socialdesk.services.channels import create_channel  # noqa: E402

BATCH = 1000

R = TypeVar("R")


def calibration() -> float:
    """Seconds for a fixed pure-Python workload: the same figure on a quiet machine of this kind
    is about 0.8 s; larger means the cores were busy with something else (shared hosts)."""
    started = time.perf_counter()
    sum(range(30_000_000))
    return round(time.perf_counter() - started, 3)


def machine() -> dict[str, Any]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = found.group(1).strip() if found else model
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "note": "client and server share the same cores",
    }


@contextmanager
def database(engine: str, workdir: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL binaries not found; install Debian's postgresql")
    cluster = start_cluster(bindir, durable=True)
    try:
        subprocess.run(
            [
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(cluster.port),
                "-U",
                "postgres",
                "bench",
            ],
            check=True,
        )
        yield cluster.url("bench")
    finally:
        cluster.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def server(
    url: str, workdir: Path, workers: int = 1, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """`socialdesk serve` on a free port of 127.0.0.1 until /healthz answers; stopped on exit.
    `env` adds to or overrides the environment (the embedded worker is off unless it says so)."""
    port = free_port()
    env = {
        **os.environ,
        "SOCIALDESK_DATABASE_URL": url,
        "SOCIALDESK_EMBEDDED_WORKER": "false",
        **(env or {}),
    }
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "socialdesk",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # several web processes on busy cores start slowly
        while True:
            try:
                if httpx2.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("server did not start; see server.log")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def token_user(desk: Desk, username: str, role: Role) -> str:
    """A new user without a password and an API token of theirs, through the services."""
    now = desk.clock.now()
    create_agent(
        desk.uow(),
        desk.hasher,
        username=username,
        role=role,
        password=None,
        display_name=None,
        email=None,
        team_names=[],
        now=now,
        actor_id=None,
    )
    return new_token(desk, username)


def new_token(desk: Desk, username: str) -> str:
    """Another API token of an existing user (named after the benchmark that uses it)."""
    token, _ = create_token(
        desk.uow(),
        username=username,
        name="bench",
        now=desk.clock.now(),
        expires_in=None,
        actor_id=None,
    )
    return token


def batch_ingest(base: str, token: str, channel_id: int, count: int) -> dict[str, Any]:
    bodies = messages(channel_id, count, seed=1)
    batches = [bodies[i : i + BATCH] for i in range(0, len(bodies), BATCH)]
    headers = {"Authorization": f"Bearer {token}"}
    created = duplicates = 0
    with httpx2.Client(base_url=base, headers=headers, timeout=120) as client:
        started = time.perf_counter()
        for batch in batches:
            response = client.post("/api/v1/messages:batch", json={"messages": batch})
            response.raise_for_status()
            created += response.json()["created"]
            duplicates += response.json()["duplicates"]
        elapsed = time.perf_counter() - started
    return {
        "messages": count,
        "created": created,
        "duplicates_in_load": duplicates,
        "batch_size": BATCH,
        "seconds": round(elapsed, 2),
        "messages_per_s": round(count / elapsed),
    }


def open_loop(
    rate: float,
    total: int,
    send: Callable[[int], R],
    threads: int = 8,
    stop: threading.Event | None = None,
) -> list[tuple[float, R]]:
    """Open-loop load: call i of `send` is due at start + i/rate, whatever became of the calls
    before it; returns (milliseconds from when it was due to its end, its result) per call, in
    order. Timing from the due time means a slow server shows as latency rather than as fewer
    calls measured (no coordinated omission): a call whose thread was still busy when it fell due
    starts late, and the wait counts. `threads` bounds the calls in flight. Once `stop` is set
    nothing waits any more: the calls left are made at once (a `send` that checks the event
    can skip them), so an interrupted run ends within a request's timeout."""
    # This process's full collections would pause the clock of every call in flight (60-90 ms
    # each, and a client that loaded a large desk holds more), and count as the server's time.
    settle()
    start = time.perf_counter() + 0.5
    waiting = stop or threading.Event()

    def one(i: int) -> tuple[float, R]:
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            waiting.wait(delay)
        result = send(i)
        return (time.perf_counter() - due) * 1000, result

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(total)))


def latency(
    base: str, token: str, channel_id: int, rate: int, seconds: int, seed: int
) -> dict[str, Any]:
    """Single messages at `rate` per second, open loop (see `open_loop`)."""
    total = rate * seconds
    bodies = messages(channel_id, total + 200, seed=seed)
    headers = {"Authorization": f"Bearer {token}"}
    # One client shared by the sender threads (httpx clients are thread-safe); its connections
    # are opened by the warm-up, so no measured request pays for a connection or TLS set-up.
    client = httpx2.Client(
        base_url=base, headers=headers, timeout=30, limits=httpx2.Limits(max_connections=8)
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda body: client.post("/api/v1/messages", json=body), bodies[total:]))
    results = open_loop(rate, total, lambda i: client.post("/api/v1/messages", json=bodies[i]))
    client.close()
    samples = [ms for ms, _ in results]
    errors = sum(response.status_code not in (200, 201) for _, response in results)
    samples.sort()

    def pct(p: float) -> float:
        return round(samples[min(len(samples) - 1, int(p / 100 * len(samples)))], 2)

    return {
        "rate_per_s": rate,
        "requests": total,
        "errors": errors,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": round(samples[-1], 2),
        "mean_ms": round(statistics.fmean(samples), 2),
    }


def latency_runs(base: str, token: str, channel_id: int, rate: int, seconds: int) -> dict[str, Any]:
    """Three `latency` runs and their median p99: this host is shared, and one run's tail can be
    another tenant's."""
    runs = [latency(base, token, channel_id, rate, seconds, seed) for seed in (9, 10, 11)]
    return {"runs": runs, "median_p99_ms": statistics.median(r["p99_ms"] for r in runs)}


def twcs_import(url: str, workdir: Path, threads: int) -> dict[str, Any]:
    path = workdir / "twcs.csv"
    rows = write_twcs(path, threads)
    env = {**os.environ, "SOCIALDESK_DATABASE_URL": url}
    command = [sys.executable, "-m", "socialdesk", "import", "--format", "twcs", str(path)]
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    found = re.search(r"messages ([\d,]+)", result.stdout)
    imported = int(found.group(1).replace(",", "")) if found else 0
    started = time.perf_counter()
    subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    again = time.perf_counter() - started
    return {
        "rows": rows,
        "messages": imported,
        "seconds": round(elapsed, 2),
        "messages_per_s": round(imported / elapsed),
        "reimport_seconds": round(again, 2),
        "note": "whole command: process start, reading, threading, ingest",
    }


def run(engine: str, count: int, seconds: int, threads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{engine}-") as tmp:
        workdir = Path(tmp)
        with database(engine, workdir) as url:
            # The token's rate limit is lifted: this measures the desk, not the throttle.
            desk = bootstrap(
                Settings(database_url=url, embedded_worker=False, api_requests_per_minute=1_000_000)
            )
            now = desk.clock.now()
            token = token_user(desk, "bench", Role.ADMIN)
            channel = create_channel(desk.uow(), desk.secrets, None, "x", "@brand", {}, now)
            assert channel.id is not None
            # SQLite runs the desk in one process; PostgreSQL deployments run several web
            # processes, here one per core.
            workers = 1 if engine == "sqlite" else os.cpu_count() or 1
            with server(url, workdir, workers) as base:
                batch = batch_ingest(base, token, channel.id, count)
                # As PostgreSQL's autovacuum would within a minute of the load (and `socialdesk
                # import` does at its end): fresh statistics, so plans fit the grown tables.
                desk.refresh_statistics()
                single = latency_runs(base, token, channel.id, 100, seconds)
            desk.close()
            imported = twcs_import(url, workdir, threads)
    return {
        "web_processes": workers,
        "batch_ingest": batch,
        "single_message_at_100_per_s": single,
        "twcs_import": imported,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--messages", type=int, default=20000, help="messages for batch ingest")
    parser.add_argument("--seconds", type=int, default=20, help="duration of the latency run")
    parser.add_argument("--threads", type=int, default=8000, help="TWCS threads to import")
    args = parser.parse_args()
    result: dict[str, Any] = {"benchmark": "ingest", "machine": machine()}
    for engine in args.engines.split(","):
        before = calibration()
        result[engine] = run(engine, args.messages, args.seconds, args.threads)
        result[engine]["cpu_calibration_s"] = {"before": before, "after": calibration()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
