"""Reading the hourly rollups (domain/rollups.py): the sums of a scope (one dimension's value,
or `all`) over whole UTC hours, per hour or in total, with their duration histograms merged.

A cut can be read here when its range starts and ends on whole hours and it filters by at most
one dimension; `scope_of` says which rows serve it, or None (the caller reads the facts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t
from socialdesk.domain.rollups import ALL, MEASURES, bucket_value

rh = t.report_hours.c


@dataclass(frozen=True, slots=True)
class Scope:
    dimension: str
    value: str


@dataclass(slots=True)
class Totals:
    """Summed counters, and the histograms that were asked for (name → {bucket: count})."""

    counts: Counter[str] = field(default_factory=Counter)
    histograms: dict[str, Counter[int]] = field(default_factory=dict)

    def histogram(self, name: str) -> Counter[int]:
        return self.histograms.get(name, Counter())

    def add_histogram(self, name: str, raw: dict[str, int]) -> None:
        merged = self.histograms.setdefault(name, Counter())
        for bucket, n in raw.items():
            merged[int(bucket)] += n


def scope_of(start: datetime, end: datetime, filters: dict[str, str | int | None]) -> Scope | None:
    if any(at.minute or at.second or at.microsecond for at in (start, end)):
        return None
    given = [(name, value) for name, value in filters.items() if value is not None]
    if not given:
        return Scope(ALL, "")
    if len(given) == 1:
        name, value = given[0]
        return Scope(name, str(value).strip().lower() if name == "tag" else str(value))
    return None


def _where(scope: Scope, start: datetime, end: datetime) -> list[Any]:
    return [
        rh.dimension == scope.dimension,
        rh.value == scope.value,
        rh.hour >= start,
        rh.hour < end,
    ]


def totals(conn: Connection, scope: Scope, start: datetime, end: datetime) -> Totals:
    """The scope's counters summed over the range, in one statement."""
    row = conn.execute(
        select(*(func.coalesce(func.sum(getattr(rh, m)), 0) for m in MEASURES)).where(
            *_where(scope, start, end)
        )
    ).one()
    return Totals(Counter({m: int(v) for m, v in zip(MEASURES, row, strict=True) if v}))


def histogram(
    conn: Connection, scope: Scope, start: datetime, end: datetime, name: str
) -> Counter[int]:
    """One duration histogram of the scope, merged over the range."""
    found = Totals()
    column = getattr(rh, f"hist_{name}")
    for (raw,) in conn.execute(select(column).where(*_where(scope, start, end))):
        found.add_histogram(name, raw)
    return found.histogram(name)


def per_value(
    conn: Connection, dimension: str, start: datetime, end: datetime
) -> dict[str, Totals]:
    """Counters per value of one dimension (a breakdown without filters)."""
    where = [rh.dimension == dimension, rh.hour >= start, rh.hour < end]
    found: dict[str, Totals] = {}
    for value, *sums in conn.execute(
        select(rh.value, *(func.sum(getattr(rh, m)) for m in MEASURES))
        .where(*where)
        .group_by(rh.value)
    ):
        found[value] = Totals(
            Counter({m: int(v) for m, v in zip(MEASURES, sums, strict=True) if v})
        )
    return found


def histograms_by_value(
    conn: Connection, dimension: str, start: datetime, end: datetime, name: str
) -> dict[str, Counter[int]]:
    """One duration histogram per value of one dimension, merged over the range."""
    found: dict[str, Totals] = {}
    column = getattr(rh, f"hist_{name}")
    for value, raw in conn.execute(
        select(rh.value, column).where(rh.dimension == dimension, rh.hour >= start, rh.hour < end)
    ):
        found.setdefault(value, Totals()).add_histogram(name, raw)
    return {value: totals.histogram(name) for value, totals in found.items()}


def hourly(
    conn: Connection, scope: Scope, start: datetime, end: datetime, *names: str
) -> dict[datetime, dict[str, int]]:
    """Chosen counters per hour of the range."""
    rows = conn.execute(
        select(rh.hour, *(getattr(rh, n) for n in names)).where(*_where(scope, start, end))
    )
    return {hour: dict(zip(names, values, strict=True)) for hour, *values in rows}


def before(conn: Connection, scope: Scope, at: datetime, *names: str) -> dict[str, int]:
    """Chosen counters summed over every hour before `at` (the backlog's starting point)."""
    row = conn.execute(
        select(*(func.coalesce(func.sum(getattr(rh, n)), 0) for n in names)).where(
            rh.dimension == scope.dimension, rh.value == scope.value, rh.hour < at
        )
    ).one()
    return dict(zip(names, (int(v) for v in row), strict=True))


def percentiles(histogram: Mapping[int, int]) -> tuple[int, float | None, int | None]:
    """(count, median, p90) read from a histogram: each bucket's middle value; the median of an
    even count is the mean of the two middle values, as for exact values (docs/metrics.md)."""
    count = sum(histogram.values())
    if not count:
        return 0, None, None
    ordered = sorted(histogram.items())

    def nth(rank: int) -> float:  # 1-based
        seen = 0
        for bucket, n in ordered:
            seen += n
            if seen >= rank:
                return bucket_value(bucket)
        return bucket_value(ordered[-1][0])

    middle = (count + 1) // 2
    median = nth(middle) if count % 2 else (nth(middle) + nth(middle + 1)) / 2
    p90 = nth(max(1, -(-9 * count // 10)))
    return count, round(median, 1), round(p90)
