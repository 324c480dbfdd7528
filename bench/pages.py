"""Workspace page benchmark: the agent's pages served over real HTTP at 1,000,000 conversations.

Loads a seeded desk (channels on x, facebook, instagram, email and chat; a customer and identity
per conversation, some customers with two or three conversations on other platforms; one to three
messages each, inbound ones triaged as the triage job writes them, replies with their outbox row,
notes; 15% open, 5% pending, 2% snoozed, the rest closed) in chunks of bulk inserts, then serves
`create_app` with uvicorn on 127.0.0.1 in a thread, signs in through the real /login form and
times each page (inbox views, filters, search, the next page, the htmx fragments, conversations,
notices) from this process with httpx2, after three warm-up requests. Prints one JSON document;
the load is timed apart. The issue's target: the inbox (GET /) at 200 ms or less at the median.

    python bench/pages.py [--conversations 1000000] [--requests 30] [--seed 7]
                          [--database-url sqlite:///… | --engine postgresql]
"""

from __future__ import annotations

import argparse
import html
import json
import math
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backtest import BODIES, OPENERS, PLATFORMS, TEAMS  # noqa: E402
from ingest import calibration, database, machine  # noqa: E402
from tests.support.server import live_server  # noqa: E402

from socialdesk.adapters.db import tables as t  # noqa: E402
from socialdesk.bootstrap import Desk, bootstrap  # noqa: E402
from socialdesk.config import Settings  # noqa: E402
from socialdesk.domain.agents import Role  # noqa: E402
from socialdesk.domain.conversations import preview_of  # noqa: E402
from socialdesk.domain.triage import (  # noqa: E402
    SENTIMENTS,
    PiiFinding,
    PriorityContext,
    PriorityWeights,
    TextSignals,
    priority_to_json,
    score_priority,
    signals_to_json,
)
from socialdesk.logs import configure_logging  # noqa: E402
from socialdesk.queries.search import matching_conversations  # noqa: E402
from socialdesk.services.agents import create_agent, create_team  # noqa: E402
from socialdesk.web.app import create_app  # noqa: E402

CHUNK = 10_000  # conversations per transaction
PASSWORD = secrets.token_urlsafe(16)  # the signed-in agent's, new each run
AGENTS = 12  # the signed-in agent and 11 colleagues
SEARCH_WORD = "voucher"  # in about 1% of the messages
VARIANTS = 24  # triage results per message body
STATUSES = (("open", 0.15), ("pending", 0.05), ("snoozed", 0.02), ("closed", 0.78))
SLA_STATES = (("ok", 0.70), ("warning", 0.10), ("breached", 0.20))  # of the open, waiting
INTENT_TAGS = {
    "billing": "billing",
    "refund_return": "refund",
    "technical_problem": "outage",
    "praise": "praise",
    "complaint_about_staff": "complaint",
}
CHANNELS = {  # platform: the desk's accounts on it
    "x": ["@brand", "@brand_help"],
    "facebook": ["Brand"],
    "instagram": ["@brand"],
    "email": ["support@brand.example", "billing@brand.example"],
    "chat": ["Website chat"],
}
REPLIES = [
    "Sorry to hear that! Could you send us a DM with your account number so we can check?",
    "Thanks for getting in touch, we've looked into it and it's fixed now.",
    "We're aware of the problem in your area and engineers are on it; updates to follow.",
    "Your refund has been issued and should reach you in 3-5 working days.",
    "Happy to help! Anything else we can do?",
]
NOTES = [
    "Checked the billing system: duplicate charge confirmed, refund raised.",
    "Known outage ticket NET-4411, linked.",
    "@agent02 can you take this one? Spanish speaker.",
    "Customer called the shop as well; same issue.",
]
FOLLOW_UPS = ["hello?? any update on this", "still waiting for an answer", "anyone there?"]
# Regulars (Loader's `regulars`): at least REGULAR_MIN conversations each, Pareto-distributed.
REGULAR_MIN, REGULAR_ALPHA, REGULAR_MAX = 4, 1.3, 200


def weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random()
    for value, share in pairs:
        roll -= share
        if roll < 0:
            return value
    return pairs[-1][0]


# -- the cast: teams, agents, channels ---------------------------------------------------------


@dataclass
class Cast:
    me: str
    agent_ids: list[int]
    team_ids: dict[str, int]
    channels: dict[str, list[int]]  # platform: channel ids
    # Filled by the load: what the pages are asked for.
    counts: Counter[str] = field(default_factory=Counter)
    tags: Counter[str] = field(default_factory=Counter)
    with_history: int | None = None


def prepare(desk: Desk, now: datetime, agents: int = AGENTS, teams: int = 4) -> Cast:
    """Teams and agents through the services (the signed-in one with a password), channels.

    The backtest's four teams come first and `teams` beyond them are numbered, so a larger desk
    (bench/scale.py) keeps the small one's names; agents join the teams in turn."""
    names = [n for n in TEAMS if n]
    names = (names + [f"Team {i + 1:02d}" for i in range(len(names), teams)])[:teams]
    team_ids = {}
    for name in names:
        team = create_team(desk.uow(), name, now, None)
        assert team.id is not None
        team_ids[name] = team.id
    agent_ids = []
    for i in range(agents):
        agent = create_agent(
            desk.uow(),
            desk.hasher,
            username="bench" if i == 0 else f"agent{i:02d}",
            role=Role.AGENT,
            password=PASSWORD if i == 0 else None,
            display_name="Bench Agent" if i == 0 else f"Agent {i}",
            email=None,
            team_names=["Billing", "General"] if i == 0 else [names[i % len(names)]],
            now=now,
            actor_id=None,
        )
        assert agent.id is not None
        agent_ids.append(agent.id)
    channels: dict[str, list[int]] = {}
    next_id = 1
    with desk.engine.begin() as conn:
        for platform, names in CHANNELS.items():
            for name in names:
                conn.execute(
                    insert(t.channels),
                    {
                        "id": next_id,
                        "platform": platform,
                        "name": name,
                        "settings": {},
                        "active": True,
                        "created_at": now - timedelta(days=400),
                    },
                )
                channels.setdefault(platform, []).append(next_id)
                next_id += 1
    return Cast("bench", agent_ids, team_ids, channels)


# -- triage results, as the triage job writes them ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Triaged:
    """One classification of a body: the message's triage JSON and the conversation's fields."""

    triage: dict[str, Any]
    sentiment: str
    intent: str
    language: str
    priority: int
    factors: list[dict[str, Any]]
    basis: dict[str, Any]


def triage_variants(rng: random.Random, target_minutes: float) -> list[list[Triaged]]:
    """For each body of the backtest's corpus, VARIANTS results of the real priority policy
    (signals as the classifier gives them; reach, VIP and waiting time drawn)."""
    weights = PriorityWeights()
    out = []
    for text, intent, sentiment in BODIES:
        found = []
        for _ in range(VARIANTS):
            lean = rng.uniform(0.55, 0.97)
            rest = (1 - lean) / 2
            sentiment_p = {s: round(lean if s == sentiment else rest, 4) for s in SENTIMENTS}
            needs_p = round(rng.uniform(0.05, 0.4) if sentiment == "positive" else rng.random(), 4)
            pii: tuple[PiiFinding, ...] = ()
            if "4111" in text:
                pii = (PiiFinding("card", text.index("4111"), text.index("4111") + 19, "…1111"),)
            signals = TextSignals(
                sentiment=sentiment,
                sentiment_p=sentiment_p,
                needs_response=needs_p >= 0.5,
                needs_response_p=needs_p,
                intent=intent,
                intent_p=round(rng.uniform(0.4, 0.95), 4),
                intent_model="builtin",
                language="es" if "hola" in text else "en",
                language_p=round(rng.uniform(0.8, 0.99), 4),
                pii=pii,
                spam_p=round(0.97 if "FREE" in text else rng.random() ** 6, 4),
                question="?" in text,
                model_version="bench-1",
                intent_reason="keywords",
            )
            context = PriorityContext(
                followers=int(rng.lognormvariate(5.5, 2.2)),
                verified=rng.random() < 0.02,
                vip=rng.random() < 0.04,
                target_minutes=target_minutes,
            )
            arrival = score_priority(signals, context, weights)
            waited = PriorityContext(
                followers=context.followers,
                verified=context.verified,
                vip=context.vip,
                waited_minutes=rng.uniform(0, 2 * target_minutes),
                target_minutes=target_minutes,
            )
            now = score_priority(signals, waited, weights)
            found.append(
                Triaged(
                    triage={**signals_to_json(signals), "priority": priority_to_json(arrival)},
                    sentiment=sentiment,
                    intent=intent,
                    language=signals.language,
                    priority=now.score,
                    factors=priority_to_json(now)["factors"],
                    basis={
                        "needs_response_p": needs_p,
                        "negativity": signals.negativity,
                        "spam_p": signals.spam_p,
                        "followers": context.followers,
                        "verified": context.verified,
                        "vip": context.vip,
                    },
                )
            )
        out.append(found)
    return out


# -- the load ----------------------------------------------------------------------------------


@dataclass
class Batch:
    """Rows waiting to be inserted, table by table in foreign-key order."""

    tables: tuple[Any, ...] = (
        t.customers,
        t.identities,
        t.conversations,
        t.messages,
        t.outbox,
        t.conversation_tags,
    )
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: Any, row: dict[str, Any]) -> None:
        self.rows.setdefault(table.name, []).append(row)

    def flush(self, conn: Any) -> int:
        written = 0
        for table in self.tables:
            rows = self.rows.pop(table.name, [])
            if rows:
                conn.execute(insert(table), rows)
                written += len(rows)
        return written


class Loader:
    """Generates the desk's history customer by customer and writes it in chunks."""

    def __init__(
        self,
        desk: Desk,
        cast: Cast,
        now: datetime,
        seed: int,
        exchanges: float = 0.0,
        regulars: float = 0.0,
    ) -> None:
        """`exchanges`: the mean number of further customer message and reply pairs in a closed
        conversation (a geometric count; 0 keeps threads at one to three messages).
        `regulars`: the share of customers who come back again and again (a heavy tail of
        conversations, several on one identity), as real desks have; 0 draws none, and the
        random draws, so the desk, stay as they were without them."""
        self.desk, self.cast, self.now = desk, cast, now
        self.more = exchanges / (1 + exchanges)  # the chance of each further pair
        self.regulars = regulars
        self.teams: list[str | None] = [*cast.team_ids, None]  # None: no team
        self.rng = random.Random(seed)
        self.targets = desk.policy.targets
        first = self.targets.first_response.total_seconds() / 60
        self.variants = triage_variants(self.rng, first)
        self.platforms = [p for p, *_rest in PLATFORMS]
        self.weights = [w for *_rest, w in PLATFORMS]
        self.batch = Batch()
        self.cid = self.mid = self.customer = 0
        self.rows = 0

    def run(self, count: int) -> int:
        with self.desk.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # A large page cache for this connection while it writes (the pool's connections
                # are disposed of before the pages are timed, so the server runs with defaults).
                conn.exec_driver_sql("PRAGMA cache_size=-1000000")
            while self.cid < count:
                target = min(count, self.cid + CHUNK)
                while self.cid < target:
                    self.one_customer(target - self.cid)
                self.rows += self.batch.flush(conn)
                conn.commit()
        return self.rows

    def one_customer(self, room: int) -> None:
        rng = self.rng
        places: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        if self.regulars and rng.random() < self.regulars:
            count = int(REGULAR_MIN * rng.paretovariate(REGULAR_ALPHA))
            for _ in range(min(count, REGULAR_MAX, room)):
                plat, visibility, kind, _w = rng.choices(PLATFORMS, self.weights)[0]
                seen.add(plat)
                places.append((plat, visibility, kind))
        else:
            roll = rng.random()
            wanted = 1 if roll < 0.88 else 2 if roll < 0.97 else 3
            while len(places) < min(wanted, room):
                plat, visibility, kind, _w = rng.choices(PLATFORMS, self.weights)[0]
                if plat not in seen:
                    seen.add(plat)
                    places.append((plat, visibility, kind))
        self.customer += 1
        customer = self.customer
        created = []
        identities: dict[str, int] = {}  # platform: the customer's identity there
        for plat, visibility, kind in places:
            created.append(self.one_conversation(customer, plat, visibility, kind, identities))
        if len(places) == 3 and self.cast.with_history is None:
            self.cast.with_history = self.cid
        self.batch.add(
            t.customers,
            {
                "id": customer,
                "name": f"Customer {customer}" if "email" in seen or "chat" in seen else None,
                "tags": ["vip"] if rng.random() < 0.03 else [],
                "created_at": min(created),
            },
        )

    def _times(self, status: str, n: int) -> dict[str, Any]:
        """When each message was written and what the conversation's clocks say."""
        rng, now = self.rng, self.now
        minute = timedelta(minutes=1)
        out: dict[str, Any] = {"waiting_since": None, "sla_state": "ok", "answered": False}
        if status == "open" and (n == 1 or rng.random() < 0.85):
            state = weighted(rng, SLA_STATES)
            target = self.targets.first_response if n < 3 else self.targets.next_response
            span = target / minute
            if state == "ok":
                due = now + minute * rng.uniform(15, max(16, span))
            elif state == "warning":
                due = now + minute * rng.uniform(0.5, 15)
            else:
                due = now - minute * min(7 * 1440, rng.expovariate(1 / 360))
            waiting = due - target
            out.update(waiting_since=waiting, sla_state=state, due=due)
            first = waiting - minute * rng.uniform(120, 4320) if n == 3 else waiting
            out["at"] = [first, first + minute * rng.uniform(5, 60), waiting][:n]
            if n == 2:  # a note on the waiting conversation, or the customer chasing
                out["at"][1] = waiting + (now - waiting) * rng.random() * 0.5
        elif status in ("open", "pending"):
            first = now - minute * rng.uniform(300, 7200)
            out["at"] = [first, first + minute * rng.uniform(5, 240), now - minute][:n]
            out["answered"] = True
        elif status == "snoozed":
            first = now - minute * rng.uniform(60, 4320)
            out["at"] = [first, first + minute * rng.uniform(1, 30), first + minute * 45][:n]
            out["snoozed_until"] = now + minute * rng.uniform(60, 4320)
        else:
            first = now - minute * rng.uniform(360, 120 * 1440)
            reply = first + minute * min(240, rng.expovariate(1 / 70))
            out["at"] = [first, reply, reply + minute * rng.uniform(1, 30)][:n]
            out["closed_at"] = out["at"][-1] + minute * rng.uniform(1, 60)
            out["sla_state"] = "ok" if reply - first <= self.targets.first_response else "breached"
        return out

    def _longer(self, roles: list[str], at: list[datetime], clock: dict[str, Any]) -> None:
        """Further exchanges before the close: the customer again, the brand again."""
        rng, minute = self.rng, timedelta(minutes=1)
        while self.more and rng.random() < self.more:
            again = at[-1] + minute * rng.uniform(2, 180)
            roles += ["inbound", "outbound"]
            at += [again, again + minute * min(240, rng.expovariate(1 / 40))]
            clock["closed_at"] = at[-1] + minute * rng.uniform(1, 60)

    def one_conversation(
        self, customer: int, plat: str, visibility: str, kind: str, identities: dict[str, int]
    ) -> datetime:
        """Adds one conversation of `customer` to the batch, with the customer's identity on the
        platform when `identities` has none yet; returns when it began."""
        rng, cast = self.rng, self.cast
        self.cid += 1
        cid = self.cid
        identity = identities.setdefault(plat, cid)
        status = weighted(rng, STATUSES)
        n = rng.choice((1, 2, 2, 3)) if status in ("open", "closed") else rng.choice((2, 3))
        clock = self._times(status, n)
        at: list[datetime] = clock["at"]
        channel_id = rng.choice(cast.channels[plat])
        assigned = status != "open" or rng.random() < 0.55
        assignee = rng.choice(cast.agent_ids) if assigned else None
        team = rng.choice(self.teams)
        followers = int(rng.lognormvariate(5.5, 2.2)) if visibility == "public" else None
        handle = f"c{customer}@mail.example" if plat == "email" else f"@user{customer}"
        if identity == cid:
            self.batch.add(
                t.identities,
                {
                    "id": cid,
                    "customer_id": customer,
                    "platform": plat,
                    "external_id": handle if plat == "email" else f"u{customer}",
                    "handle": handle,
                    "display_name": None,
                    "followers": followers,
                    "verified": rng.random() < 0.01,
                    "profile": {},
                    "created_at": at[0],
                },
            )
        # The messages: the customer first, then (by status and count) a reply, a note or a
        # follow-up from the customer.
        if clock["answered"]:
            roles = ["inbound", "outbound", "note"]
        elif status == "closed":
            roles = ["inbound", "outbound", rng.choice(("note", "inbound"))]
        elif status == "open" and n == 3:
            roles = ["inbound", "outbound", "inbound"]
        else:
            roles = ["inbound", rng.choice(("note", "inbound")), "note"]
        roles = roles[:n]
        if status == "closed":
            self._longer(roles, at, clock)
        last_inbound: Triaged | None = None
        last_text = ""
        inbound_at = at[0]
        first_response = None
        for role, when in zip(roles, at, strict=True):
            self.mid += 1
            mid = self.mid
            row: dict[str, Any] = {
                "id": mid,
                "conversation_id": cid,
                "channel_id": channel_id,
                "external_id": None,
                "direction": role,
                "visibility": visibility,
                "kind": kind,
                "author_identity_id": None,
                "author_agent_id": None,
                "text": "",
                "subject": None,
                "created_at": when,
                "received_at": when,
                "in_reply_to": None,
                "references": [],
                "url": None,
                "meta": {},
                "delivery_state": None,
                "triage": None,
                "playbook": None,
            }
            if role == "inbound":
                body = rng.randrange(len(BODIES))
                found = self.variants[body][rng.randrange(VARIANTS)]
                text = f"{rng.choice(OPENERS)} {BODIES[body][0]}".strip()
                if last_inbound is not None:
                    text = rng.choice(FOLLOW_UPS)
                if rng.random() < 0.016:
                    text += f" also, is my {SEARCH_WORD} still valid?"
                row.update(
                    external_id=f"m{mid}",
                    author_identity_id=identity,
                    text=text,
                    subject=f"Order {cid}" if plat == "email" else None,
                    url=f"https://{plat}.example/p/{mid}" if visibility == "public" else None,
                    triage=found.triage,
                    playbook={"version": None},
                )
                last_inbound = found if last_inbound is None else last_inbound
                last_text, inbound_at = text, when
            elif role == "outbound":
                row.update(
                    external_id=f"r{mid}",
                    kind="email"
                    if plat == "email"
                    else "comment"
                    if visibility == "public"
                    else "dm",
                    author_agent_id=assignee or cast.agent_ids[1],
                    text=rng.choice(REPLIES),
                    in_reply_to=f"m{mid - 1}",
                    meta={"reply_mode": visibility},
                    delivery_state="sent",
                )
                first_response = first_response or when
                self.batch.add(
                    t.outbox,
                    {
                        "id": mid,
                        "message_id": mid,
                        "conversation_id": cid,
                        "channel_id": channel_id,
                        "idempotency_key": f"reply-{mid}",
                        "state": "sent",
                        "attempts": 1,
                        "next_attempt_at": None,
                        "last_error": None,
                        "platform_message_id": f"r{mid}",
                        "created_at": when,
                        "updated_at": when + timedelta(seconds=2),
                        "claimed_at": None,
                        "in_doubt": False,
                        "sent_at": when + timedelta(seconds=2),
                    },
                )
            else:
                row.update(
                    direction="note",
                    kind="note",
                    visibility="private",
                    author_agent_id=assignee or cast.agent_ids[2],
                    text=rng.choice(NOTES),
                )
            self.batch.add(t.messages, row)
        assert last_inbound is not None
        tags = set()
        tag = INTENT_TAGS.get(last_inbound.intent)
        if tag and rng.random() < 0.5:
            tags.add(tag)
        if rng.random() < 0.04:
            tags.add("chaser")
        for tag in sorted(tags):
            self.batch.add(t.conversation_tags, {"conversation_id": cid, "tag": tag})
            cast.tags[tag] += 1
        cast.counts[status] += 1
        waiting = clock["waiting_since"]
        due = clock.get("due")
        closed_at = clock.get("closed_at")
        self.batch.add(
            t.conversations,
            {
                "id": cid,
                "channel_id": channel_id,
                "platform": plat,
                "customer_id": customer,
                "identity_id": identity,
                "visibility": visibility,
                "status": status,
                "thread_key": f"m{cid}",
                "subject": f"Order {cid}" if plat == "email" else None,
                "priority": last_inbound.priority,
                "sentiment": last_inbound.sentiment,
                "team_id": cast.team_ids[team] if team else None,
                "assignee_id": assignee,
                "snoozed_until": clock.get("snoozed_until"),
                "created_at": at[0],
                "updated_at": closed_at or at[-1],
                "last_message_at": max(w for r, w in zip(roles, at, strict=True) if r != "note"),
                "last_inbound_at": inbound_at,
                "waiting_since": waiting,
                "first_response_at": first_response,
                "closed_at": closed_at,
                "close_reason": None,
                "sla_due_at": due,
                "message_count": sum(r != "note" for r in roles),
                "preview": preview_of(last_text),
                "intent": last_inbound.intent,
                "language": last_inbound.language,
                "priority_basis": {
                    **last_inbound.basis,
                    "since": waiting.isoformat() if waiting else None,
                },
                "priority_factors": last_inbound.factors,
                "priority_scored_at": self.now,
                "sla_policy_id": None,
                "first_response_due_at": due if first_response is None else None,
                "next_response_due_at": due if first_response is not None else None,
                "resolution_due_at": None,
                "sla_state": clock["sla_state"] if status != "snoozed" else None,
                "sla_paused_seconds": 0,
                "pending_since": at[1] if status == "pending" else None,
                "pending_periods": [],
                "sla_refreshed_at": self.now,
                "priority_rule": None,
                "suppressed_reason": None,
                "private_mode": None,
                "auto_acked_at": None,
            },
        )
        return at[0]


def move_sequences(desk: Desk) -> None:
    """Moves PostgreSQL's id sequences past the ids the load wrote itself, so that rows the app
    inserts afterwards (ingest) get fresh ones. SQLite needs nothing: it takes the largest id + 1."""
    if desk.engine.dialect.name != "postgresql":
        return
    with desk.engine.begin() as conn:
        for table in (t.channels, *Batch.tables):
            if "id" in table.c:
                conn.execute(
                    select(
                        func.setval(
                            func.pg_get_serial_sequence(table.name, "id"),
                            select(func.coalesce(func.max(table.c.id), 0) + 1).scalar_subquery(),
                            False,
                        )
                    )
                )


def workspace_rows(desk: Desk, cast: Cast, now: datetime, seed: int) -> None:
    """The signed-in agent's notices (mentions, reminders) and saved views."""
    rng = random.Random(seed + 1)
    me = cast.agent_ids[0]
    total = sum(cast.counts.values())
    with desk.engine.begin() as conn:
        conn.execute(
            insert(t.agent_notices),
            [
                {
                    "agent_id": me,
                    "kind": "mention" if i % 3 else "reminder",
                    "conversation_id": rng.randrange(1, total + 1),
                    "message_id": None,
                    "text": f"@bench please have a look ({i})",
                    "due_at": now - timedelta(minutes=i * 17),
                    "created_at": now - timedelta(minutes=i * 17),
                    "read_at": now if i % 4 == 0 else None,
                }
                for i in range(40)
            ],
        )
        conn.execute(
            insert(t.saved_views),
            [
                {"agent_id": me, "name": name, "query": query, "created_at": now}
                for name, query in (
                    ("Angry on X", "platform=x&sentiment=negative"),
                    ("Refunds", "tag=refund"),
                )
            ],
        )


def facts(desk: Desk) -> dict[str, Any]:
    """What was loaded, counted back from the database, and whether search sees every message."""
    c, m = t.conversations.c, t.messages.c
    dialect = desk.engine.dialect.name
    with desk.engine.connect() as conn:

        def count(table: Any, *where: Any) -> int:
            return int(
                conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0
            )

        by_status = {
            row[0]: row[1]
            for row in conn.execute(select(c.status, func.count()).group_by(c.status))
        }
        found = conversations_with(conn, SEARCH_WORD, dialect)
        holding = count(
            select(m.conversation_id).where(m.text.like(f"%{SEARCH_WORD}%")).distinct().subquery()
        )
        return {
            "conversations": count(t.conversations),
            "by_status": by_status,
            "customers": count(t.customers),
            "identities": count(t.identities),
            "messages": count(t.messages),
            "outbox": count(t.outbox),
            "conversation_tags": count(t.conversation_tags),
            "search_word": SEARCH_WORD,
            "search_word_conversations": found,
            "search_consistent": found == holding,
        }


def conversations_with(conn: Connection, word: str, dialect: str) -> int:
    """How many conversations have a message with the word, read from the search index."""
    hits = matching_conversations(word, dialect).subquery()
    return int(conn.execute(select(func.count(hits.c.conversation_id.distinct()))).scalar_one())


# -- the pages ---------------------------------------------------------------------------------

LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NEXT = re.compile(r'<p class="more"><a href="([^"]+)">Next')
ROW = re.compile(r'class="row" href="/conversations/(\d+)"')


def sign_in(client: httpx2.Client, username: str) -> None:
    form = client.get("/login")
    token = LOGIN_CSRF.search(form.text)
    assert token is not None, form.text
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: {answer.status_code}")


def percentile(ordered: list[float], p: float) -> float:
    """Nearest rank."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def measure(client: httpx2.Client, name: str, paths: list[str], htmx: bool) -> dict[str, Any]:
    """Three warm-up requests, then one timed request per remaining path."""
    headers = {"HX-Request": "true"} if htmx else {}
    for path in paths[:3]:
        client.get(path, headers=headers)
    samples: list[float] = []
    statuses: Counter[int] = Counter()
    size = 0
    for path in paths[3:]:
        began = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - began) * 1000)
        statuses[response.status_code] += 1
        size = len(response.content)
    samples.sort()
    return {
        "page": name,
        "path": paths[-1],
        "status": statuses.most_common(1)[0][0] if len(statuses) == 1 else dict(statuses),
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 95), 1),
        "max_ms": round(samples[-1], 1),
        "bytes": size,
    }


def pages(base: str, cast: Cast, requests: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed + 2)
    total = sum(cast.counts.values())
    common_tag = cast.tags.most_common(1)[0][0]
    with httpx2.Client(base_url=base, timeout=120, follow_redirects=False) as client:
        sign_in(client, cast.me)
        first = client.get("/")
        found = NEXT.search(first.text)
        assert found is not None, "the inbox has no next page"
        second = html.unescape(found.group(1))
        ids = [rng.randrange(1, total + 1) for _ in range(requests + 3)]
        other_ids = [rng.randrange(1, total + 1) for _ in range(requests + 3)]
        history = cast.with_history or 1
        same = requests + 3
        plan: list[tuple[str, list[str], bool]] = [
            ("inbox", ["/"] * same, False),
            ("inbox mine", ["/?view=mine"] * same, False),
            ("inbox unassigned", ["/?view=unassigned"] * same, False),
            ("inbox at risk", ["/?view=at_risk"] * same, False),
            ("inbox by age", ["/?sort=age"] * same, False),
            ("inbox by recent", ["/?sort=recent"] * same, False),
            ("inbox x negative", ["/?platform=x&sentiment=negative"] * same, False),
            (f"inbox tag {common_tag}", [f"/?tag={common_tag}"] * same, False),
            (f"inbox search {SEARCH_WORD}", [f"/?q={SEARCH_WORD}"] * same, False),
            ("inbox next page", [second] * same, False),
            ("rows fragment", ["/ui/inbox/rows"] * same, True),
            ("counts fragment", ["/ui/inbox/counts?view=all"] * same, True),
            ("conversation (random)", [f"/conversations/{i}" for i in ids], False),
            ("conversation with history", [f"/conversations/{history}"] * same, False),
            (
                "thread fragment (random)",
                [f"/ui/conversations/{i}/thread" for i in other_ids],
                True,
            ),
            ("notices", ["/notices"] * same, False),
        ]
        return [measure(client, name, paths, htmx) for name, paths, htmx in plan]


# -- the run -----------------------------------------------------------------------------------


@contextmanager
def desk_at(url: str) -> Iterator[Desk]:
    desk = bootstrap(Settings(_env_file=None, database_url=url, embedded_worker=False))
    try:
        yield desk
    finally:
        desk.close()


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = work()
    return result, round(time.perf_counter() - began, 1)


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    with desk_at(url) as desk:
        configure_logging(desk.settings.log_level)  # as `socialdesk serve` does: to stderr
        now = desk.clock.now()
        cast = prepare(desk, now)
        loader = Loader(desk, cast, now, args.seed)
        rows, load_s = timed(lambda: loader.run(args.conversations))
        workspace_rows(desk, cast, now, args.seed)
        _, analyze_s = timed(desk.refresh_statistics)
        desk.engine.dispose()  # the loader's connection, with its large cache, goes
        loaded = facts(desk)
        size = None
        if desk.engine.dialect.name == "sqlite" and desk.engine.url.database:
            size = Path(desk.engine.url.database).stat().st_size
        before = calibration()
        with live_server(create_app(desk, run_worker=False)) as base:
            measured = pages(base, cast, args.requests, args.seed)
        after = calibration()
    inbox = next(p for p in measured if p["path"] == "/")
    return {
        "benchmark": "pages",
        "engine": url.split(":", 1)[0].split("+", 1)[0],
        "machine": machine(),
        "cpu_calibration_s": {"before": before, "after": after},
        "data": {**loaded, "common_tag": cast.tags.most_common(1)[0], "seed": args.seed},
        "load_seconds": load_s,
        "load_rows": rows,
        "load_rows_per_s": round(rows / load_s) if load_s else None,
        "analyze_seconds": analyze_s,
        "database_bytes": size,
        "server": "uvicorn, one process, in a thread of the benchmark's process; sequential requests",
        "requests_per_page": args.requests,
        "pages": measured,
        "all_200": all(p["status"] == 200 for p in measured),
        "over_200ms_median": [p["page"] for p in measured if p["median_ms"] > 200],
        "inbox_ok": inbox["median_ms"] <= 200,
    }


def seeded_desk_main(
    doc: str,
    run: Callable[[str, argparse.Namespace], dict[str, Any]],
    **counts: int,
) -> None:
    """The command line the benchmarks on the seeded desk share: `--conversations`, `--seed`,
    `--database-url` or `--engine`, and one count option per keyword (`requests=30` gives
    `--requests 30`); prints what `run` returns as JSON."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    for name, default in counts.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    parser.add_argument(
        "--engine",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="without --database-url: a SQLite file, or a throwaway PostgreSQL cluster",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        if args.database_url:
            result = run(args.database_url, args)
        else:
            with database(args.engine, Path(folder)) as url:
                result = run(url, args)
    print(json.dumps(result, indent=2))


def main() -> None:
    seeded_desk_main(__doc__ or "", run, requests=30)


if __name__ == "__main__":
    main()
