"""Load test: the desk as real processes under a contact center's mixed traffic, open loop, for a
bounded time.

Seeds a fresh database with the desk of bench/pages.py (20,000 conversations by default, reported
as the reporting job would have it), adds a supervisor, an integration user and an X channel that
takes signed webhooks, and gives each of the 12 agents an API token of their own (as a team of
agents would have: each stays far below the default 6,000 requests a minute per token). Then it
starts the desk as it is deployed, listening on 127.0.0.1 only: on SQLite one `socialdesk serve`
doing everything (web and background jobs); on PostgreSQL `socialdesk serve --workers 2` and one
`socialdesk worker`, with SOCIALDESK_EMBEDDED_WORKER=false.

After a warm-up, requests fall due at a fixed rate for a fixed time, open loop (timed from when
they were due, so a slow server shows as latency, not as a lower offered rate), in this mix: agents
reading the inbox with its usual filters, opening conversations, searching, replying, adding notes
and tags; supervisors reading the analytics overview; new customer messages one at a time, in
batches of ten and as signed X webhook deliveries. Reports per kind and overall: count,
throughput, latency p50/p95/p99 from the due time, server time p50/p95/p99 (`Server-Timing:
app;dur=`), errors by status (429 counts), the first failed requests and the error lines of the
servers' logs, the background jobs' backlog at the end, and the CPU calibration before and after.
Every process started is stopped at the end, on failure or interruption too. Prints one JSON
document. Client and servers share this machine's cores.

    python bench/load.py [--engine sqlite|postgresql] [--seconds 60] [--rate 50]
                         [--conversations 20000] [--warmup 5] [--threads 64] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
from cryptography.fernet import Fernet
from datasets import PHRASES, messages
from ingest import calibration, database, machine, new_token, open_loop, server, token_user
from pages import NOTES, REPLIES, Cast, Loader, move_sequences, percentile, prepare
from sqlalchemy import func, select

from socialdesk.adapters.connectors.x.fake import FakeX
from socialdesk.adapters.db import tables as t
from socialdesk.bootstrap import Desk, bootstrap
from socialdesk.config import Settings
from socialdesk.domain.agents import Role
from socialdesk.services.channels import create_channel
from socialdesk.services.reporting import rebuild

# Request kinds and their shares of the traffic: mostly agents reading, some writing, a few
# supervisors, and the customers' messages arriving through the three ways in.
MIX: dict[str, float] = {
    "inbox": 0.30,
    "open conversation": 0.24,
    "search": 0.05,
    "reply": 0.08,
    "note": 0.04,
    "tags": 0.04,
    "analytics overview": 0.02,
    "ingest message": 0.15,
    "ingest batch": 0.02,
    "webhook": 0.06,
}
INBOX_VIEWS = (
    "",
    "?assignee=me",
    "?assignee=none",
    "?sort=age",
    "?sort=sla_due",
    "?platform=x&sentiment=negative",
    "?tag=refund",
    "?status=open,pending&team={team}",
)
SEARCHES = ("voucher", "refund", "charged twice", "crashing", "parcel")
BATCH_SIZE = 10
HOOK_SECRET = "load-consumer-secret"  # noqa: S105 - the throwaway channel's webhook secret
OK = (200, 201)
TIMEOUT = 30  # seconds a request may take: bounds how long the run outlives its schedule
STOP = threading.Event()  # set on SIGTERM/SIGINT: the calls left are skipped


@dataclass(frozen=True, slots=True)
class Call:
    """One planned request: its kind and everything needed to send it."""

    kind: str
    method: str
    path: str
    token: str | None = None
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str
    status: int | str  # the HTTP status, or the exception's name when no answer came
    server_ms: float | None  # from the answer's Server-Timing header
    sent_ms: float  # from the start of sending to the end of the answer
    detail: str  # a failed request, and the start of its answer


@dataclass
class Setup:
    """What the planned requests refer to: tokens, channels, conversations."""

    conversations: int
    agent_tokens: list[str]
    supervisor_token: str
    integration_token: str
    team_ids: list[int]
    ingest_channels: list[int]
    hook_channel: int
    reply_targets: list[int]
    month_start: str


# -- the desk ----------------------------------------------------------------------------------


def reply_targets(desk: Desk, rng: random.Random) -> list[int]:
    """Open conversations an agent can answer now without a platform's messaging window: public
    ones, and private ones on X and e-mail (Messenger and Instagram allow 24 hours)."""
    c = t.conversations.c
    with desk.engine.connect() as conn:
        ids = list(
            conn.execute(
                select(c.id).where(
                    c.status == "open",
                    (c.visibility == "public") | c.platform.in_(("x", "email")),
                )
            ).scalars()
        )
    rng.shuffle(ids)
    return ids


def seed(desk: Desk, conversations: int, seed: int, fake: FakeX) -> tuple[Setup, dict[str, Any]]:
    """The seeded desk, reported as the job would have it, with users, tokens and channels."""
    now = desk.clock.now()
    cast: Cast = prepare(desk, now)
    began = time.perf_counter()
    rows = Loader(desk, cast, now, seed).run(conversations)
    move_sequences(desk)
    desk.refresh_statistics()
    reported = rebuild(desk.analytics_uow, desk.holidays, targets=desk.policy.targets, now=now)
    desk.refresh_statistics()
    load_s = round(time.perf_counter() - began, 1)
    with desk.engine.connect() as conn:
        names = conn.execute(
            select(t.agents.c.username).where(t.agents.c.id.in_(cast.agent_ids))
        ).scalars()
        usernames = sorted(names)
    hook = create_channel(
        desk.uow(),
        desk.secrets,
        None,
        "x",
        f"@{fake.username}",
        {"user_id": fake.user_id, "consumer_secret": HOOK_SECRET},
        now,
    )
    assert hook.id is not None
    setup = Setup(
        conversations=conversations,
        agent_tokens=[new_token(desk, name) for name in usernames],
        supervisor_token=token_user(desk, "lead", Role.SUPERVISOR),
        integration_token=token_user(desk, "integration", Role.ADMIN),
        team_ids=sorted(cast.team_ids.values()),
        ingest_channels=cast.channels["x"],
        hook_channel=hook.id,
        reply_targets=reply_targets(desk, random.Random(seed)),
        month_start=(now - timedelta(days=29)).date().isoformat(),
    )
    facts = {
        "conversations": conversations,
        "by_status": dict(cast.counts),
        "rows": rows,
        "reported_conversations": reported,
        "seed_seconds": load_s,
        "agents": len(usernames),
        "reply_targets": len(setup.reply_targets),
    }
    return setup, facts


# -- the traffic -------------------------------------------------------------------------------


class Planner:
    """Turns kinds into requests. Reply targets are handed out once each across all plans, so no
    reply meets a conversation an earlier one closed."""

    def __init__(self, setup: Setup, fake: FakeX) -> None:
        self.setup, self.fake = setup, fake
        self.next_target = 0

    def plan(self, total: int, seed: int) -> list[Call]:
        rng = random.Random(seed)
        kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=total)
        wanted = kinds.count("ingest message") + BATCH_SIZE * kinds.count("ingest batch")
        # Arrival now (no created_at), with the data set's threads and ~10% redeliveries.
        bodies = iter(
            {k: v for k, v in body.items() if k != "created_at"}
            for body in messages(self.setup.ingest_channels[0], wanted, seed=seed)
        )
        return [self.call(kind, rng, bodies) for kind in kinds]

    def call(self, kind: str, rng: random.Random, bodies: Iterator[dict[str, Any]]) -> Call:
        s = self.setup
        agent = rng.choice(s.agent_tokens)
        anyone = rng.randrange(1, s.conversations + 1)
        base = "/api/v1/conversations"
        if kind == "inbox":
            view = rng.choice(INBOX_VIEWS).format(team=rng.choice(s.team_ids))
            return Call(kind, "GET", base + view, agent)
        if kind == "open conversation":
            return Call(kind, "GET", f"{base}/{anyone}", agent)
        if kind == "search":
            return Call(kind, "GET", f"{base}?status=all&q={rng.choice(SEARCHES)}", agent)
        if kind == "reply":
            target = s.reply_targets[self.next_target % len(s.reply_targets)]
            self.next_target += 1
            closing = len(s.reply_targets) > 1000 and rng.random() < 0.3
            reply = {
                "text": rng.choice(REPLIES),
                "status_after": "closed" if closing else "pending",
                "idempotency_key": f"load-{rng.getrandbits(64):016x}",
            }
            return Call(kind, "POST", f"{base}/{target}/reply", agent, json=reply)
        if kind == "note":
            return Call(
                kind, "POST", f"{base}/{anyone}/notes", agent, json={"text": rng.choice(NOTES)}
            )
        if kind == "tags":
            tags = {
                "add": [rng.choice(("follow-up", "billing", "vip-check"))],
                "remove": ["chaser"],
            }
            return Call(kind, "POST", f"{base}/{anyone}/tags", agent, json=tags)
        if kind == "analytics overview":
            query = rng.choice(("", f"?from={s.month_start}"))
            return Call(kind, "GET", f"/api/v1/analytics/overview{query}", s.supervisor_token)
        if kind == "ingest message":
            return Call(kind, "POST", "/api/v1/messages", s.integration_token, json=next(bodies))
        if kind == "ingest batch":
            batch = [next(bodies) for _ in range(BATCH_SIZE)]
            return Call(
                kind,
                "POST",
                "/api/v1/messages:batch",
                s.integration_token,
                json={"messages": batch},
            )
        assert kind == "webhook", kind
        author = str(2200000000000000000 + rng.randrange(5000))
        payload = self.fake.activity_tweet(author, f"@{self.fake.username} {rng.choice(PHRASES)}")
        body, headers = self.fake.signed(payload, HOOK_SECRET)
        return Call(kind, "POST", f"/webhooks/x/{s.hook_channel}", content=body, headers=headers)


SERVER_TIMING = re.compile(r"app;dur=([\d.]+)")


def sender(client: httpx2.Client, plan: list[Call]) -> Callable[[int], Outcome]:
    """`send(i)` for `open_loop`: makes call i and says how it went; never raises."""

    def send(i: int) -> Outcome:
        call = plan[i]
        if STOP.is_set():
            return Outcome(call.kind, "skipped", None, 0.0, "")
        headers = dict(call.headers)
        if call.token:
            headers["Authorization"] = f"Bearer {call.token}"
        began = time.perf_counter()
        try:
            response = client.request(
                call.method, call.path, json=call.json, content=call.content, headers=headers
            )
        except httpx2.HTTPError as exc:
            spent = (time.perf_counter() - began) * 1000
            return Outcome(call.kind, type(exc).__name__, None, spent, f"{call.method} {call.path}")
        spent = (time.perf_counter() - began) * 1000
        timing = SERVER_TIMING.search(response.headers.get("server-timing", ""))
        detail = ""
        if response.status_code not in OK:
            detail = f"{call.method} {call.path} -> {response.text[:300]}"
        return Outcome(
            call.kind,
            response.status_code,
            float(timing.group(1)) if timing else None,
            spent,
            detail,
        )

    return send


def drive(base: str, plan: list[Call], rate: float, threads: int) -> list[tuple[float, Outcome]]:
    """The plan at `rate`, open loop, over one client whose pool holds a connection per thread
    (kept alive, as agents' browsers and integrations keep theirs)."""
    limits = httpx2.Limits(max_connections=threads, max_keepalive_connections=threads)
    with httpx2.Client(base_url=base, timeout=TIMEOUT, limits=limits) as client:
        return open_loop(rate, len(plan), sender(client, plan), threads, STOP)


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "p50": round(percentile(ordered, 50), 1),
        "p95": round(percentile(ordered, 95), 1),
        "p99": round(percentile(ordered, 99), 1),
        "max": round(ordered[-1], 1),
    }


def summary(results: list[tuple[float, Outcome]], window_s: float) -> dict[str, Any]:
    """Count, throughput over the measured window, latency from the due time, server time,
    and the failures by status (anything but 200 and 201, so 429 and timeouts count)."""
    errors = Counter(str(o.status) for _, o in results if o.status not in OK)
    return {
        "count": len(results),
        "per_s": round(len(results) / window_s, 2),
        "ok_per_s": round((len(results) - errors.total()) / window_s, 2),
        "latency_ms": spread([ms for ms, _ in results]),
        "server_ms": spread([o.server_ms for _, o in results if o.server_ms is not None]),
        "errors": dict(errors),
    }


def report(results: list[tuple[float, Outcome]], rate: float) -> dict[str, Any]:
    """Overall and per kind. The window runs from the first request's due time to the last
    answer, so throughput below the offered rate means the desk fell behind."""
    window_s = max(i / rate + ms / 1000 for i, (ms, _) in enumerate(results))
    by_kind: dict[str, list[tuple[float, Outcome]]] = {}
    for ms, outcome in results:
        by_kind.setdefault(outcome.kind, []).append((ms, outcome))
    waits = [ms - o.sent_ms for ms, o in results if o.status != "skipped"]
    return {
        "window_s": round(window_s, 2),
        "overall": summary(results, window_s),
        "kinds": {kind: summary(by_kind[kind], window_s) for kind in MIX if kind in by_kind},
        "client_send_delay_ms": spread(waits),
        "first_failures": [o.detail for _, o in results if o.status not in OK][:10],
    }


# -- the processes -------------------------------------------------------------------------------


@contextmanager
def worker_process(url: str, workdir: Path, env: dict[str, str]) -> Iterator[None]:
    """`socialdesk worker` beside the web processes; stopped on exit."""
    log = (workdir / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "socialdesk", "worker"],
        env={**os.environ, "SOCIALDESK_DATABASE_URL": url, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def desk_processes(engine: str, url: str, workdir: Path, key: str) -> Iterator[str]:
    """SQLite: one process doing everything. PostgreSQL: two web processes and one worker.
    They log as in production (INFO: a JSON line a request), so that cost is in the figures."""
    env = {"SOCIALDESK_SECRET_KEY": key}
    if engine == "sqlite":
        with server(url, workdir, 1, {**env, "SOCIALDESK_EMBEDDED_WORKER": "true"}) as base:
            yield base
        return
    with worker_process(url, workdir, env), server(url, workdir, 2, env) as base:
        yield base


def ours(base: str, token: str) -> None:
    """Refuse to measure another process that took the port first (tests on this machine start
    servers on free ports too): only our desk knows our tokens."""
    answer = httpx2.get(
        base + "/api/v1/conversations?limit=1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    if answer.status_code != 200:
        raise SystemExit(f"{base} is not the desk started here: {answer.status_code}")


def log_errors(workdir: Path) -> dict[str, Any]:
    """Error lines and tracebacks in the servers' and the worker's logs (JSON lines)."""
    found: dict[str, Any] = {}
    for log in sorted(workdir.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        bad = [
            line[:500]
            for line in lines
            if '"level": "error"' in line or '"level": "critical"' in line or "Traceback" in line
        ]
        warnings = sum('"level": "warning"' in line for line in lines)
        found[log.name] = {
            "lines": len(lines),
            "warnings": warnings,
            "errors": len(bad),
            "first_errors": bad[:5],
        }
    return found


def backlog(desk: Desk) -> dict[str, Any]:
    """What the background jobs have still to do: untriaged inbound messages, queued replies."""
    m, o = t.messages.c, t.outbox.c
    with desk.engine.connect() as conn:
        untriaged = conn.execute(
            select(func.count()).where(m.direction == "inbound", m.triage.is_(None))
        ).scalar_one()
        states = conn.execute(select(o.state, func.count()).group_by(o.state))
        outbox = {str(row[0]): int(row[1]) for row in states}
    return {"untriaged_inbound": untriaged, "outbox_by_state": outbox}


def settle(desk: Desk, limit_s: float = 30) -> dict[str, Any]:
    """How long after the last answer the jobs need to catch up (triage every message, try every
    reply once), read every half second for at most `limit_s`: a desk that keeps up under load
    has next to nothing left."""
    began = time.perf_counter()
    while True:
        left = backlog(desk)
        waited = time.perf_counter() - began
        drained = not left["untriaged_inbound"] and not left["outbox_by_state"].get("queued")
        if drained or waited >= limit_s or STOP.is_set():
            return {"drained": drained, "seconds": round(waited, 1), **left}
        time.sleep(0.5)


# -- the run -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    key = Fernet.generate_key().decode()
    fake = FakeX()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        workdir = Path(folder)
        with database(args.engine, workdir) as url:
            desk = bootstrap(
                Settings(_env_file=None, database_url=url, embedded_worker=False, secret_key=key)
            )
            try:
                setup, facts = seed(desk, args.conversations, args.seed, fake)
                planner = Planner(setup, fake)
                warmup = planner.plan(int(args.rate * args.warmup), args.seed + 1)
                plan = planner.plan(int(args.rate * args.seconds), args.seed + 2)
                desk.engine.dispose()
                before = calibration()
                try:
                    with desk_processes(args.engine, url, workdir, key) as base:
                        ours(base, setup.agent_tokens[0])
                        warm = drive(base, warmup, args.rate, args.threads)
                        results = drive(base, plan, args.rate, args.threads)
                        left = settle(desk)
                finally:
                    logs = log_errors(workdir)
                    if args.logs:
                        args.logs.mkdir(parents=True, exist_ok=True)
                        for log in workdir.glob("*.log"):
                            shutil.copy(log, args.logs / f"{args.engine}-{log.name}")
                    if sys.exc_info()[0] is not None:
                        for name, found in logs.items():
                            print(name, json.dumps(found, indent=2), file=sys.stderr)
                after = calibration()
            finally:
                desk.close()
    tokens = Counter(c.token for c in plan if c.token)
    return {
        "benchmark": "load",
        "engine": args.engine,
        "machine": machine(),
        "cpu_calibration_s": {"before": before, "after": after},
        "desk": facts,
        "processes": "one `socialdesk serve` (web and jobs)"
        if args.engine == "sqlite"
        else "`socialdesk serve --workers 2` and one `socialdesk worker`",
        "offered_rate_per_s": args.rate,
        "seconds": args.seconds,
        "requests": len(plan),
        "mix": MIX,
        "batch_size": BATCH_SIZE,
        "tokens": {
            "agents": len(setup.agent_tokens),
            "supervisor": 1,
            "integration": 1,
            "busiest_per_minute": round(max(tokens.values()) * 60 / args.seconds),
            "limit_per_minute": Settings(_env_file=None).api_requests_per_minute,
        },
        "warmup": {
            "seconds": args.warmup,
            "requests": len(warm),
            "errors": dict(Counter(str(o.status) for _, o in warm if o.status not in OK)),
        },
        **report(results, args.rate),
        "backlog_after": left,
        "logs": logs,
    }


def stop(signum: int, _frame: Any) -> None:
    """Skip the calls left and unwind, so every process started is stopped."""
    STOP.set()
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=60, help="measured time")
    parser.add_argument("--rate", type=float, default=50, help="requests per second offered")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load not measured")
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=64, help="most requests in flight")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--logs", type=Path, help="a folder to keep the processes' logs in")
    args = parser.parse_args()
    if not (0 < args.seconds <= 3600 and 0 < args.rate <= 2000 and 0 <= args.warmup <= 600):
        parser.error("--seconds in (0, 3600], --rate in (0, 2000], --warmup in [0, 600]")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
