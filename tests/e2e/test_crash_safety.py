"""Crash safety: kill -9 the desk's processes under load, and nothing acknowledged is lost or doubled.

The desk runs as real processes against a fake X in this process (which survives the kills): on
PostgreSQL two `socialdesk serve` without the embedded worker and two `socialdesk worker`; on
SQLite the one `serve` that does everything, as each is run in production. Threads play the
outside world: X delivers signed mentions to the webhook, an API client posts messages, an agent
replies to conversations. Meanwhile a random process is killed (SIGKILL) every 2 to 4 s and
started again a moment later (six kills on PostgreSQL, three on SQLite); once, the fake X holds back its answer to a post and the processes
that run the outbox are killed while it waits, so a reply is certainly posted without the desk
learning it. Clients send a failed request again, unchanged (same external id, same idempotency
key), as platforms and API clients do, and count it acknowledged only on a 2xx.

Claims are leases (5 min for triage and the playbook, 2 min for the outbox) without a setting, so
at the end the test stops the processes that claim, moves the claims they left back by the lease
(what an outage that long does) and starts them again to drain. Then: every acknowledged message
is stored once, every acknowledged reply was posted to X once, and no job is left behind.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import Connection, Engine, func, select, update
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialdesk.adapters.connectors.x.fake import FakeX
from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.engine import make_engine
from socialdesk.services import delivery, playbooks, polling, triage
from socialdesk.services.agents import create_token
from tests.conftest import TEST_SECRET_KEY, open_desk
from tests.e2e.conftest import role_users
from tests.fakes import FakePasswordHasher, FrozenClock
from tests.support.processes import free_port, wait_ready
from tests.support.server import live_server

pytestmark = pytest.mark.xdist_group("crash_safety")
log = logging.getLogger(__name__)  # what the run did: pytest --log-cli-level=INFO shows it

SEED = 20261203
SECRET = "x-consumer-secret"
CUSTOMERS = [f"22000000000000000{i:02d}" for i in range(6)]
PAUSE = 0.15  # between one client's requests
START_WITHIN = 120.0  # a start takes seconds; minutes where other tests share the cores
RETRY_FOR = START_WITHIN  # a client gives a request up after this long
KILL_EVERY = (2.0, 4.0)
MESSAGES_AT_LEAST, REPLIES_AT_LEAST = 50, 20  # the load runs on until these are acknowledged
TOKEN = re.compile(r"\[(r\d{5})\]")


# -- the desk's processes ------------------------------------------------------------------------


@dataclass
class DeskProcess:
    """One `socialdesk serve` or `socialdesk worker`, started again after each kill with the same
    command (a web process on the same port, so clients keep their addresses)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    log_offset: int = 0
    kills: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def claims(self) -> bool:
        """Whether it runs background jobs (a worker, or a web process with the embedded one)."""
        return self.port is None or self.env["SOCIALDESK_EMBEDDED_WORKER"] == "true"

    def start(self) -> None:
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "socialdesk", *self.args],
                env=self.env,
                cwd=self.log.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait(timeout=10)
        self.kills += 1

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def busy(self) -> bool:
        """Whether it serves (web) or has done a worker pass since it last started (worker): a
        kill should land on a process at work, not on one still starting."""
        assert self.popen is not None
        assert self.popen.poll() is None, self.log.read_text()
        if self.port is None:
            return b'"worker_pass"' in self.log.read_bytes()[self.log_offset :]
        try:
            return httpx2.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx2.HTTPError:
            return False

    def wait_busy(self, timeout: float = START_WITHIN) -> None:
        if self.port is not None:
            assert self.popen is not None
            wait_ready(self.url, self.popen, self.log, timeout=timeout)
            return
        _wait_for(self.busy, lambda: f"{self.name} did no work", timeout)


@contextmanager
def desk_processes(db_url: str, directory: Path) -> Iterator[list[DeskProcess]]:
    """The desk as it runs in production on this engine, stopped at the end whatever happens."""
    postgres = db_url.startswith("postgresql")
    env = {
        **os.environ,
        "SOCIALDESK_DATABASE_URL": db_url,
        "SOCIALDESK_SECRET_KEY": TEST_SECRET_KEY,
        "SOCIALDESK_WORKER_INTERVAL_SECONDS": "0.2",
        "SOCIALDESK_EMBEDDED_WORKER": "false" if postgres else "true",
    }
    webs = 2 if postgres else 1
    processes = []
    for i in range(webs):
        name, port = f"web-{i + 1}", free_port()
        args = ["serve", "--port", str(port)]
        processes.append(DeskProcess(name, args, env, directory / f"{name}.log", port))
    for i in range(2 if postgres else 0):
        name = f"worker-{i + 1}"
        processes.append(DeskProcess(name, ["worker"], env, directory / f"{name}.log"))
    try:
        for process in processes:
            process.start()
        for process in processes:
            if process.port is not None:  # workers have nothing to do before the load starts
                process.wait_busy()
        yield processes
    finally:
        for process in processes:
            process.stop()


# -- the fake X, able to lose an answer --------------------------------------------------------


class HeldAnswer:
    """Wraps the fake X: once armed, the next post is stored and its answer held back until
    released, so whoever posted it can be killed before it learns the post's id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.armed = threading.Event()
        self.caught = threading.Event()
        self.released = threading.Event()

    def arm(self) -> None:
        self.released.clear()
        self.caught.clear()
        self.armed.set()

    def release(self) -> None:
        self.armed.clear()
        self.released.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not self.armed.is_set():
            await self.app(scope, receive, send)
            return

        async def held(message: Message) -> None:
            if message["type"] == "http.response.start" and self.armed.is_set():
                self.armed.clear()
                self.caught.set()
                while not self.released.is_set():
                    await asyncio.sleep(0.01)
            await send(message)

        await self.app(scope, receive, held)


# -- the outside world -------------------------------------------------------------------------


@dataclass
class Load:
    """Clients of the desk in threads. A request that fails (refused, cut off, 5xx) is sent again
    unchanged to any web process until the desk answers 2xx, and only then counts."""

    webs: list[str]
    fake: FakeX
    channel_id: int
    tokens: dict[str, str]
    messages: set[str] = field(default_factory=set)  # external ids acknowledged
    replies: set[str] = field(default_factory=set)  # reply tokens acknowledged
    conversations: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for i, target in enumerate((self._mentions, self._api_messages, self._replies)):
            thread = threading.Thread(target=target, args=(random.Random(SEED + i),), daemon=True)
            self.threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)  # its last request, 15 s at most
            assert not thread.is_alive(), "a client is still waiting for the desk"

    def counts(self) -> str:
        return f"{len(self.messages)} messages and {len(self.replies)} replies"

    def enough(self) -> bool:
        """Whether the load has been enough to mean something, however slow the machine."""
        return len(self.messages) >= MESSAGES_AT_LEAST and len(self.replies) >= REPLIES_AT_LEAST

    def _mentions(self, rng: random.Random) -> None:
        """X's Account Activity: each delivery a new mention, signed."""
        with httpx2.Client(timeout=15) as client:
            for n in range(1, 100_000):
                if self.stopping.is_set():
                    return
                payload = self.fake.activity_tweet(
                    rng.choice(CUSTOMERS), f"@AcmeSupport my order {n} has not arrived"
                )
                body, headers = self.fake.signed(payload, SECRET)
                path = f"/webhooks/x/{self.channel_id}"
                if self._send(client, rng, path, content=body, headers=headers):
                    with self.lock:
                        self.messages.add(payload["tweet_create_events"][0]["id_str"])
                self.stopping.wait(PAUSE)

    def _api_messages(self, rng: random.Random) -> None:
        """An integration posting messages through the API."""
        auth = {"Authorization": f"Bearer {self.tokens['admin']}"}
        with httpx2.Client(timeout=15) as client:
            for n in range(1, 100_000):
                if self.stopping.is_set():
                    return
                external_id = f"api-{n:05d}"
                body = {
                    "channel_id": self.channel_id,
                    "external_id": external_id,
                    "text": f"@AcmeSupport is my refund {n} on its way?",
                    "author": {"external_id": f"api-customer-{rng.randrange(4)}"},
                }
                r = self._send(client, rng, "/api/v1/messages", json=body, headers=auth)
                if r:
                    with self.lock:
                        self.messages.add(external_id)
                        self.conversations.append(r.json()["conversation_id"])
                self.stopping.wait(PAUSE)

    def _replies(self, rng: random.Random) -> None:
        """An agent answering conversations that exist, each reply under its own key."""
        auth = {"Authorization": f"Bearer {self.tokens['agent']}"}
        with httpx2.Client(timeout=15) as client:
            for n in range(1, 100_000):
                while not self.conversations and not self.stopping.is_set():
                    time.sleep(0.05)
                if self.stopping.is_set():
                    return
                with self.lock:
                    conversation = rng.choice(self.conversations)
                token = f"r{n:05d}"
                body = {
                    "text": f"Thanks, we are on it [{token}]",
                    "idempotency_key": f"crash-{token}",
                }
                path = f"/api/v1/conversations/{conversation}/reply"
                if self._send(client, rng, path, json=body, headers=auth):
                    with self.lock:
                        self.replies.add(token)
                self.stopping.wait(PAUSE)

    def _send(
        self, client: httpx2.Client, rng: random.Random, path: str, **kw: Any
    ) -> httpx2.Response | None:
        """POST until a 2xx (the answer) or a 4xx (a bug, recorded); None when none came (the
        load stopped first, or RETRY_FOR passed: recorded)."""
        deadline = time.monotonic() + RETRY_FOR
        first = rng.randrange(len(self.webs))
        for attempt in itertools.count():
            base = self.webs[(first + attempt) % len(self.webs)]
            try:
                r = client.post(base + path, **kw)
            except httpx2.HTTPError:
                pass
            else:
                if r.is_success:
                    return r
                if r.status_code < 500 and r.status_code != 429:
                    self.errors.append(f"POST {path}: {r.status_code} {r.text[:300]}")
                    return None
            if self.stopping.is_set():  # unanswered, so not acknowledged: nothing is owed
                return None
            if time.monotonic() > deadline:
                self.errors.append(f"POST {path}: no answer in {RETRY_FOR:.0f} s")
                return None
            time.sleep(0.1)
        raise AssertionError("unreachable")


# -- the test ------------------------------------------------------------------------------------


def test_kill_9_loses_and_doubles_nothing(db_url: str, tmp_path: Path) -> None:
    """Processes killed under load; then nothing acknowledged is lost, doubled or left undone."""
    started = time.monotonic()
    rng = random.Random(SEED)
    fake = FakeX()
    for customer in CUSTOMERS:
        fake.add_user(customer, f"customer{customer[-2:]}")
    held = HeldAnswer(fake.app())
    tokens = _users(db_url)
    engine = make_engine(db_url)
    try:
        with (
            live_server(held) as fake_url,
            desk_processes(db_url, tmp_path) as processes,
        ):
            _phase("started", started)
            webs = [p for p in processes if p.port is not None]
            channel_id = _x_channel(webs[0].url, tokens["admin"], fake, fake_url)
            load = Load([p.url for p in webs], fake, channel_id, tokens)
            load.start()
            try:
                _kill_while_loaded(processes, held, rng)
                _wait_for(load.enough, lambda: f"only {load.counts()} acknowledged", RETRY_FOR)
            finally:
                held.release()
                load.stop()
            _phase("load stopped", started)
            aged = _restart_after_the_leases(processes, engine)
            _wait_drained(engine)
            _phase("drained", started)
        with engine.connect() as conn:
            stored = Counter(
                conn.execute(
                    select(t.messages.c.external_id).where(
                        t.messages.c.channel_id == channel_id, t.messages.c.direction == "inbound"
                    )
                ).scalars()
            )
            outbox = Counter(conn.execute(select(t.outbox.c.state)).scalars())
            reconciled = [
                data
                for data in conn.execute(
                    select(t.events.c.data).where(t.events.c.type == "reply_sent")
                ).scalars()
                if data["reconciled"]
            ]
            stuck = _stuck(conn)
    finally:
        engine.dispose()
    posted = Counter(m.group(1) for tweet in fake.posted() for m in TOKEN.finditer(tweet["text"]))
    kills = Counter(p.name.split("-")[0] for p in processes for _ in range(p.kills))
    log.info(
        "acknowledged %s; kills %s; aged claims %d; reconciled sends %d",
        load.counts(),
        dict(kills),
        aged,
        len(reconciled),
    )

    assert load.errors == []
    assert load.enough()
    assert sum(kills.values()) >= (3 if db_url.startswith("sqlite") else 6)
    assert set(kills) == {p.name.split("-")[0] for p in processes}  # every kind was killed
    # 1. Every acknowledged message is stored, once.
    assert sorted(load.messages - set(stored)) == []
    assert sorted(k for k, n in stored.items() if n > 1) == []
    # 2. Every acknowledged reply was posted to X once, and nothing was posted twice.
    assert sorted(r for r in load.replies if posted[r] != 1) == []
    assert sorted(r for r, n in posted.items() if n > 1) == []
    assert set(outbox) == {"sent"}, outbox
    assert reconciled, "the held post was not found again after the kill"
    # 3. No job is stuck.
    assert stuck == {}


def _phase(name: str, started: float) -> None:
    log.info("%s at %.1f s", name, time.monotonic() - started)


def _users(db_url: str) -> dict[str, str]:
    """An API token for the admin (channels, ingest) and one for an agent (replies)."""
    tokens = {}
    with open_desk(db_url, FrozenClock()) as desk:
        role_users(desk, FakePasswordHasher(), None)
        for role in ("admin", "agent"):
            tokens[role], _ = create_token(
                desk.uow(),
                username=role,
                name="crash",
                now=desk.clock.now(),
                expires_in=None,
                actor_id=None,
            )
    return tokens


def _x_channel(base: str, token: str, fake: FakeX, fake_url: str) -> int:
    r = httpx2.post(
        f"{base}/api/v1/channels",
        headers={"Authorization": f"Bearer {token}"},
        json=fake.channel(fake_url, SECRET),
        timeout=15,
    )
    assert r.status_code == 201, r.text
    channel_id: int = r.json()["id"]
    return channel_id


def _kill_while_loaded(processes: list[DeskProcess], held: HeldAnswer, rng: random.Random) -> None:
    """Kills 2 to 4 s apart, one of them while a post's answer is held (every process that sends
    dies then). Six where web and worker processes are apart, three of each kind; three of the
    one process on SQLite (all of the desk is down until it is back, so each costs a restart)."""
    kinds = sorted({p.name.split("-")[0] for p in processes})
    plan = [kinds[i % len(kinds)] for i in range(6 if len(kinds) > 1 else 3)]
    rng.shuffle(plan)
    held_at = rng.randrange(len(plan))
    for i, kind in enumerate(plan):
        time.sleep(rng.uniform(*KILL_EVERY))
        if i == held_at:
            held.arm()
            assert held.caught.wait(START_WITHIN), "no reply was sent while the trap was armed"
            victims = [p for p in processes if p.claims]
        else:
            victims = [_busy_one([p for p in processes if p.name.startswith(kind)], rng)]
        for victim in victims:
            victim.kill()
            log.info("killed %s", victim.name)
        held.release()
        time.sleep(rng.uniform(0.2, 1.0))
        for victim in victims:
            victim.start()
    for process in processes:
        process.wait_busy()


def _restart_after_the_leases(processes: list[DeskProcess], engine: Engine) -> int:
    """Stop what claims work, move the claims left behind back by their lease (as an outage that
    long would), and start it again; returns how many claims were aged."""
    claimers = [p for p in processes if p.claims]
    for process in claimers:
        process.stop()
    now = datetime.now(UTC)
    m, o, p = t.messages.c, t.outbox.c, t.channel_polls.c
    with engine.begin() as conn:
        aged = sum(
            conn.execute(stmt).rowcount
            for stmt in (
                update(t.messages)
                .where(m.triage.is_(None), m.triage_claimed_at.is_not(None))
                .values(triage_claimed_at=now - triage.LEASE),
                update(t.messages)
                .where(m.playbook.is_(None), m.playbook_claimed_at.is_not(None))
                .values(playbook_claimed_at=now - playbooks.CLAIM_LEASE),
                update(t.outbox)
                .where(o.state == "sending")
                .values(claimed_at=now - delivery.LEASE),
                update(t.channel_polls)
                .where(p.claimed_at.is_not(None))
                .values(claimed_at=now - polling.LEASE),
            )
        )
    for process in claimers:
        process.start()
    return aged


def _stuck(conn: Connection) -> dict[str, int]:
    """Work not done: untriaged or unplayed inbound messages, replies not sent, and channel
    polls whose claim outlived its lease."""
    m, o = t.messages.c, t.outbox.c
    stale_poll = datetime.now(UTC) - polling.LEASE
    inbound = m.direction == "inbound"
    counts = {
        "untriaged": select(func.count()).where(inbound, m.triage.is_(None)),
        "unplayed": select(func.count()).where(
            inbound, m.triage.is_not(None), m.playbook.is_(None)
        ),
        "unsent": select(func.count()).where(o.state.in_(["queued", "sending"])),
        "stale polls": select(func.count()).where(t.channel_polls.c.claimed_at < stale_poll),
    }
    found = {name: conn.execute(stmt).scalar_one() for name, stmt in counts.items()}
    return {name: n for name, n in found.items() if n}


def _busy_one(processes: list[DeskProcess], rng: random.Random) -> DeskProcess:
    """One of `processes` at work, once one is (all of them may be starting)."""
    busy: list[DeskProcess] = []

    def found() -> bool:
        busy[:] = [p for p in processes if p.busy()]
        return bool(busy)

    _wait_for(found, lambda: f"none of {[p.name for p in processes]} at work", START_WITHIN)
    return rng.choice(busy)


def _wait_drained(engine: Engine) -> None:
    """Until the workers have done everything that came in (bounded: a stuck job fails here)."""
    left: dict[str, int] = {}

    def drained() -> bool:
        with engine.connect() as conn:
            left.clear()
            left.update(_stuck(conn))
        return not left

    _wait_for(drained, lambda: f"work left: {left}", START_WITHIN)


def _wait_for(condition: Callable[[], bool], failure: Callable[[], str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{failure()} after {timeout:.0f} s"
        time.sleep(0.1)
