"""Analytics benchmark: the reporting job over a large desk, then the 30-day dashboard's queries.

Loads the seeded desk of bench/pages.py (conversations over the last 120 days, one to three
messages each, triaged), runs the reporting job until it has caught up (timed: facts per second),
then times the dashboard as its page asks for it: the overview, the daily series and the
breakdown by platform for the last 30 days, in one connection, `--repeat` times after one
warm-up; also with a team filter and in business hours. Prints one JSON document; the load is
timed apart. The issue's target: the 30-day dashboard in at most 300 ms of server time.

    python bench/analytics.py [--conversations 1000000] [--repeat 15] [--seed 7]
                              [--database-url sqlite:///… | --engine postgresql]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ingest import calibration, machine
from pages import Loader, desk_at, percentile, prepare, seeded_desk_main, timed
from sqlalchemy import func, select

from socialdesk.adapters.db import tables as t
from socialdesk.bootstrap import Desk
from socialdesk.queries.analytics import Cut, Dimension, breakdown, overview, series
from socialdesk.worker import catch_up_reporting


def dashboard(desk: Desk, cut: Cut) -> Callable[[], dict[str, float]]:
    def once() -> dict[str, float]:
        spent: dict[str, float] = {}
        with desk.engine.connect() as conn:
            for name, work in (
                ("overview", lambda: overview(conn, cut)),
                ("series", lambda: series(conn, cut)),
                ("breakdown", lambda: breakdown(conn, cut, Dimension.PLATFORM)),
            ):
                began = time.perf_counter()
                work()
                spent[name] = (time.perf_counter() - began) * 1000
        spent["total"] = sum(spent.values())
        return spent

    return once


def measure(work: Callable[[], dict[str, float]], repeat: int) -> dict[str, Any]:
    work()
    runs = [work() for _ in range(repeat)]
    out: dict[str, Any] = {}
    for part in runs[0]:
        ordered = sorted(r[part] for r in runs)
        out[part] = {
            "median_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(percentile(ordered, 95), 1),
        }
    return out


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    with desk_at(url) as desk:
        now = desk.clock.now()
        cast = prepare(desk, now)
        loader = Loader(desk, cast, now, args.seed)
        rows, load_s = timed(lambda: loader.run(args.conversations))
        read, project_s = timed(lambda: catch_up_reporting(desk))
        desk.refresh_statistics()
        desk.engine.dispose()
        with desk.engine.connect() as conn:
            facts = conn.execute(select(func.count()).select_from(t.report_messages)).scalar()
        hour = now.replace(minute=0, second=0, microsecond=0)  # pages ask for whole local days
        month = Cut(hour - timedelta(days=30), hour)
        team = next(iter(cast.team_ids.values()))
        before = calibration()
        timings = {
            "30 days": measure(dashboard(desk, month), args.repeat),
            "30 days, one team": measure(
                dashboard(desk, Cut(month.start, month.end, team_id=team)), args.repeat
            ),
            "30 days, business hours": measure(
                dashboard(desk, Cut(month.start, month.end, business=True)), args.repeat
            ),
        }
        after = calibration()
        with desk.engine.connect() as conn:
            in_month = overview(conn, month)
    return {
        "benchmark": "analytics",
        "engine": url.split(":", 1)[0].split("+", 1)[0],
        "machine": machine(),
        "cpu_calibration_s": {"before": before, "after": after},
        "conversations": args.conversations,
        "load_rows": rows,
        "load_seconds": load_s,
        "report_rows_read": read,
        "report_seconds": project_s,
        "report_messages_per_s": round(read / project_s) if project_s else None,
        "report_message_facts": facts,
        "month": {
            "inbound": in_month.inbound,
            "outbound": in_month.outbound,
            "first_responses": in_month.first_response.count,
        },
        "server": "queries in this process, one connection, sequential",
        "dashboard": timings,
        "target_ms": 300,
        "ok": all(v["total"]["median_ms"] <= 300 for v in timings.values()),
    }


def main() -> None:
    seeded_desk_main(__doc__ or "", run, repeat=15)


if __name__ == "__main__":
    main()
