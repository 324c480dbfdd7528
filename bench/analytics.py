"""Analytics benchmark: reporting a large desk, then the 30-day dashboard's queries.

Loads the seeded desk of bench/pages.py (conversations over the last 120 days, triaged; closed
ones with further exchanges, three messages per conversation on average), reports it with
`socialdesk report rebuild` (timed: conversations and messages per second, peak memory), then
times the live reporting job reading the last `LIVE` messages again as if they had just arrived
(each conversation's facts recomputed and its rollups moved by the difference), then the
dashboard as its page asks for it: the overview, the daily series and the breakdown by platform
for the last 30 days, in one connection, `--repeat` times after one warm-up; for the whole desk,
in business hours, one team, one platform, and one team on one platform. Prints one JSON
document; the load is timed apart. The issue's target: the 30-day dashboard in at most 300 ms of
server time.

    python bench/analytics.py [--conversations 1000000] [--repeat 15] [--seed 7]
                              [--database-url sqlite:///… | --engine postgresql]
"""

from __future__ import annotations

import argparse
import resource
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
from socialdesk.services.reporting import MESSAGES, rebuild
from socialdesk.worker import catch_up_reporting

EXCHANGES = 0.62  # further exchanges per closed conversation: 3 messages per conversation
LIVE = 20_000  # messages the live job reads again


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


def live_job(desk: Desk) -> int:
    """The reporting job over the last LIVE messages again, as if they had just arrived."""
    with desk.analytics_uow() as unit:
        last = unit.reporting.ends(desk.clock.now())[0]
        unit.reporting.cursor(MESSAGES)
        unit.reporting.set_cursor(MESSAGES, max(0, last - LIVE))
        unit.commit()
    return catch_up_reporting(desk)


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    with desk_at(url) as desk:
        now = desk.clock.now()
        cast = prepare(desk, now)
        loader = Loader(desk, cast, now, args.seed, exchanges=EXCHANGES)
        rows, load_s = timed(lambda: loader.run(args.conversations))
        desk.refresh_statistics()
        desk.engine.dispose()
        with desk.engine.connect() as conn:
            messages = conn.execute(select(func.count()).select_from(t.messages)).scalar_one()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        reported, rebuild_s = timed(
            lambda: rebuild(desk.analytics_uow, desk.holidays, targets=desk.policy.targets, now=now)
        )
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        desk.refresh_statistics()
        live, live_s = timed(lambda: live_job(desk))
        desk.engine.dispose()
        with desk.engine.connect() as conn:
            facts = conn.execute(select(func.count()).select_from(t.report_messages)).scalar_one()
            rollup_rows = conn.execute(
                select(func.count()).select_from(t.report_hours)
            ).scalar_one()
        hour = now.replace(minute=0, second=0, microsecond=0)  # pages ask for whole local days
        month = Cut(hour - timedelta(days=30), hour)
        team = next(iter(cast.team_ids.values()))

        def cut(**filters: Any) -> Cut:
            return Cut(month.start, month.end, **filters)

        before = calibration()
        timings = {
            name: measure(dashboard(desk, month_cut), args.repeat)
            for name, month_cut in (
                ("30 days", month),
                ("30 days, business hours", cut(business=True)),
                ("30 days, one team", cut(team_id=team)),
                ("30 days, one platform", cut(platform="x")),
                ("30 days, one team on one platform", cut(team_id=team, platform="x")),
            )
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
        "messages": messages,
        "load_rows": rows,
        "load_seconds": load_s,
        "rebuild": {
            "conversations": reported,
            "seconds": rebuild_s,
            "conversations_per_s": round(reported / rebuild_s) if rebuild_s else None,
            "message_facts": facts,
            "facts_per_s": round(facts / rebuild_s) if rebuild_s else None,
            "rollup_rows": rollup_rows,
            "peak_rss_mb_before": rss_before // 1024,
            "peak_rss_mb_after": rss_after // 1024,
        },
        "live_job": {
            "messages_read": live,
            "seconds": live_s,
            "messages_per_s": round(live / live_s) if live_s else None,
        },
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
