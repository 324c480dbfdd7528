"""Listening benchmark: one pass of the spike job over a large desk, and the cost of matching the
listening queries inside a triage batch.

Loads the seeded desk of bench/pages.py (conversations over the last 120 days, one to three
messages each, triaged; migration 0008 then counts the public posts per hour and intent, as on a
desk upgraded with its history), saves three listening queries and records a match of one of them for
every 20th public inbound post (what a broad brand query finds), then times, `--repeat` times
after one warm-up: a whole spike pass (hourly counts of 8 weeks for the brand, each intent and
each query; the checks; nothing to alert), and `listen` on a batch of 256 public posts
inside a unit of work that is rolled back. Prints one JSON document; the load is timed apart.

    python bench/spikes.py [--conversations 1000000] [--repeat 10] [--seed 7]
                           [--database-url sqlite:///… | --engine postgresql]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from analytics import measure
from ingest import calibration, machine
from pages import Loader, desk_at, prepare, seeded_desk_main, timed
from sqlalchemy import func, insert, literal, select

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.migrate import downgrade, upgrade
from socialdesk.bootstrap import Desk
from socialdesk.domain.triage import TextSignals
from socialdesk.services import listening
from socialdesk.services.listening import listen
from socialdesk.services.spikes import SpikePolicy, detect_spikes
from socialdesk.services.triage import Triaged

QUERIES = {
    "brand": '@acme OR acme OR "acme bank"',
    "refunds": "refund* OR voucher OR (money back)",
    "outage": "(down OR outage OR broken) -lang:de",
}
BATCH = 256
SIGNALS = TextSignals(
    sentiment="negative",
    sentiment_p={"negative": 0.9, "neutral": 0.1, "positive": 0.0},
    needs_response=True,
    needs_response_p=0.9,
    intent="billing",
    intent_p=0.8,
    intent_model="builtin",
    language="en",
    language_p=0.9,
    pii=(),
    spam_p=0.01,
    question=False,
    model_version="bench",
)


def seed_matches(desk: Desk, query_id: int) -> int:
    """A match of `query_id` for every 20th public inbound post, as the triage job writes them."""
    m = t.messages.c
    with desk.engine.begin() as conn:
        conn.execute(
            insert(t.listening_matches).from_select(
                ["query_id", "message_id", "at", "negative"],
                select(
                    literal(query_id),
                    m.id,
                    m.created_at,
                    m.triage["sentiment"].as_string() == "negative",
                ).where(m.direction == "inbound", m.visibility == "public", m.id % 20 == 0),
            )
        )
        return int(conn.execute(select(func.count()).select_from(t.listening_matches)).scalar_one())


def spike_pass(desk: Desk) -> Callable[[], dict[str, float]]:
    policy = SpikePolicy(every=timedelta(0), timezone="Europe/Berlin")

    def once() -> dict[str, float]:
        began = time.perf_counter()
        report = detect_spikes(desk.analytics_uow, now=desk.clock.now(), policy=policy)
        assert report.ran
        return {"pass": (time.perf_counter() - began) * 1000}

    return once


def matching(desk: Desk) -> Callable[[], dict[str, float]]:
    m = t.messages.c
    with desk.engine.connect() as conn:
        rows = conn.execute(
            select(m.id, m.conversation_id)
            .where(m.direction == "inbound", m.visibility == "public")
            .order_by(m.id.desc())
            .limit(BATCH)
        ).all()
    batch = [Triaged(message_id, conversation_id, SIGNALS) for message_id, conversation_id in rows]

    def once() -> dict[str, float]:
        with desk.analytics_uow() as unit:
            began = time.perf_counter()
            matches = listen(unit, batch, desk.clock.now())
            spent = (time.perf_counter() - began) * 1000
            unit.rollback()
        assert matches > 0
        return {"batch": spent}

    return once


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    with desk_at(url) as desk:
        now = desk.clock.now()
        cast = prepare(desk, now)
        loader = Loader(desk, cast, now, args.seed)
        rows, load_s = timed(lambda: loader.run(args.conversations))
        # The loader writes triaged rows directly; migration 0008 counts them into post_hours,
        # as it does for a desk upgraded with history (timed: the cost of that upgrade).
        downgrade(desk.engine, "0007")
        _, backfill_s = timed(lambda: upgrade(desk.engine))
        saved = [
            listening.create_query(desk.analytics_uow, None, name, query, now - timedelta(days=120))
            for name, query in QUERIES.items()
        ]
        matches = seed_matches(desk, saved[0].id or 0)
        desk.refresh_statistics()
        desk.engine.dispose()
        with desk.engine.connect() as conn:
            m = t.messages.c
            window = conn.execute(
                select(func.count()).where(
                    m.direction == "inbound",
                    m.visibility == "public",
                    m.created_at >= now - timedelta(weeks=8),
                )
            ).scalar_one()
        policy = SpikePolicy(every=timedelta(0))
        subjects = detect_spikes(desk.analytics_uow, now=now, policy=policy).subjects
        before = calibration()
        timings = {
            "spike pass": measure(spike_pass(desk), args.repeat),
            f"listen, {BATCH} public posts": measure(matching(desk), args.repeat),
        }
        after = calibration()
    return {
        "benchmark": "spikes",
        "engine": url.split(":", 1)[0].split("+", 1)[0],
        "machine": machine(),
        "cpu_calibration_s": {"before": before, "after": after},
        "conversations": args.conversations,
        "load_rows": rows,
        "load_seconds": load_s,
        "migration_0008_backfill_seconds": backfill_s,
        "public_inbound_last_8_weeks": window,
        "listening_matches": matches,
        "queries": len(QUERIES),
        "subjects": subjects,
        "timings": timings,
    }


def main() -> None:
    seeded_desk_main(__doc__ or "", run, repeat=10)


if __name__ == "__main__":
    main()
