"""Reading the hourly rollups (domain/rollups.py): the sums of a scope (one dimension's value,
or `all`; on one platform or on all of them) over whole UTC hours, in total, per hour, or per
value or platform, with their duration histograms merged by the database.

A cut can be read here when its range starts and ends on whole hours and it filters by at most
one dimension besides the platform; `scope_of` says which rows serve it, or None (the caller
reads the facts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.sql import counts_entries
from socialdesk.domain.rollups import ALL, DAY, HOUR, MEASURES, TOTAL, bucket_value

rh = t.report_hours.c
By = Literal["value", "platform"] | None


@dataclass(frozen=True, slots=True)
class Scope:
    """The rows that serve a cut: a dimension's value (None: every value of it, for a breakdown
    by the dimension), on one platform or (None) on all."""

    dimension: str
    value: str | None
    platform: str | None = None


WHOLE_DESK = Scope(ALL, "")


def scope_of(
    start: datetime, end: datetime, filters: dict[str, str | int | None], platform: str | None
) -> Scope | None:
    if any(at.minute or at.second or at.microsecond for at in (start, end)):
        return None
    given = [(name, value) for name, value in filters.items() if value is not None]
    if not given:
        return Scope(ALL, "", platform)
    if len(given) == 1:
        name, value = given[0]
        return Scope(name, str(value).strip().lower() if name == "tag" else str(value), platform)
    return None


def _where(
    scope: Scope, start: datetime | None, end: datetime, by: By = None, *, hourly: bool = False
) -> list[Any]:
    """The rows of the scope over the range: the whole UTC days in it and the hours at its ends
    (only hours when asked for them per hour); the whole desk's unsplit `total` rows unless split
    by platform. One condition per span, each whole, so the scope index serves each."""
    whole = scope.dimension == ALL and scope.platform is None and by != "platform"
    same = [rh.dimension == (TOTAL if whole else scope.dimension)]
    if scope.value is not None:
        same.append(rh.value == scope.value)
    if scope.platform is not None:
        same.append(rh.platform == scope.platform)
    periods = [(HOUR, start, end)] if hourly else _periods(start, end)
    return [
        or_(
            *(
                and_(*same, rh.span == span, rh.hour < upto, *([rh.hour >= since] if since else []))
                for span, since, upto in periods
            )
        )
    ]


def _periods(start: datetime | None, end: datetime) -> list[tuple[str, datetime | None, datetime]]:
    """[start, end) (from the first hour when start is None) as whole UTC days and the hours
    before and after them."""
    end = end.astimezone(UTC)
    last = end.replace(hour=0)
    if start is None:
        first = None
    else:
        start = start.astimezone(UTC)
        first = start if start.hour == 0 else start.replace(hour=0) + timedelta(days=1)
        if first >= last:
            return [(HOUR, start, end)]
    periods: list[tuple[str, datetime | None, datetime]] = [(DAY, first, last)]
    if start is not None and first is not None and start < first:
        periods.append((HOUR, start, first))
    if last < end:
        periods.append((HOUR, last, end))
    return periods


def _group(by: By) -> Any:
    return {"value": rh.value, "platform": rh.platform, None: literal("")}[by]


def sums(
    conn: Connection, scope: Scope, start: datetime, end: datetime, by: By = None
) -> dict[str, Counter[str]]:
    """The scope's counters summed over the range, per value or platform (or "" for all), in
    one statement."""
    group = _group(by)
    found: dict[str, Counter[str]] = {}
    for key, *values in conn.execute(
        select(group, *(func.sum(getattr(rh, m)) for m in MEASURES))
        .where(*_where(scope, start, end, by))
        .group_by(group)
    ):
        found[str(key)] = Counter({m: int(v) for m, v in zip(MEASURES, values, strict=True) if v})
    return found


def histograms(
    conn: Connection, scope: Scope, start: datetime, end: datetime, name: str, by: By = None
) -> dict[str, Counter[int]]:
    """One duration histogram per value or platform (or "" for all), merged over the range by
    the database from each row's JSON object of bucket counts."""
    group = _group(by)
    entries, bucket, n = counts_entries(getattr(rh, f"hist_{name}"), conn.dialect.name)
    found: dict[str, Counter[int]] = {}
    for key, number, count in conn.execute(
        select(group, bucket, func.sum(n))
        .select_from(t.report_hours)
        .join(entries, literal(True))
        .where(*_where(scope, start, end, by))
        .group_by(group, bucket)
    ):
        found.setdefault(str(key), Counter())[int(number)] += int(count)
    return found


def histogram(
    conn: Connection, scope: Scope, start: datetime, end: datetime, name: str
) -> Counter[int]:
    return histograms(conn, scope, start, end, name).get("", Counter())


def hourly(
    conn: Connection, scope: Scope, start: datetime, end: datetime, *names: str
) -> dict[datetime, dict[str, int]]:
    """Chosen counters per hour of the range."""
    rows = conn.execute(
        select(rh.hour, *(func.sum(getattr(rh, n)) for n in names))
        .where(*_where(scope, start, end, hourly=True))
        .group_by(rh.hour)
    )
    return {hour: {n: int(v) for n, v in zip(names, values, strict=True)} for hour, *values in rows}


def summed(
    conn: Connection, scope: Scope, start: datetime | None, end: datetime, *names: str
) -> Counter[str]:
    """Chosen counters summed over the range (from the first hour when `start` is None: the
    backlog's starting point); the scope index covers them, so no row is read."""
    row = conn.execute(
        select(*(func.coalesce(func.sum(getattr(rh, n)), 0) for n in names)).where(
            *_where(scope, start, end)
        )
    ).one()
    return Counter(dict(zip(names, (int(v) for v in row), strict=True)))


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
