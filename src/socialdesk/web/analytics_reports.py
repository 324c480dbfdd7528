"""The analytics tables as the API and the pages both serve them: the read side's numbers in the
API's response models, and each table as a CSV download with a name that says what it holds.

Pages render these same models, so a page, its CSV and the API can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy.engine import Connection
from starlette.responses import Response

from socialdesk.queries.analytics import Cut, Dimension, breakdown, overview, series
from socialdesk.queries.analytics_labels import AnalyticsLabels, analytics_labels
from socialdesk.queries.staffing import StaffingAsk, plan_staffing
from socialdesk.web.api.analytics_schemas import (
    BreakdownOut,
    BreakdownRowOut,
    CutOut,
    OverviewOut,
    PointOut,
    SeriesOut,
    StaffingDayOut,
    StaffingHourOut,
    StaffingOut,
)
from socialdesk.web.csv_export import csv_response, table_response

StaffingTable = Literal["hours", "days"]


def overview_report(conn: Connection, cut: Cut) -> OverviewOut:
    return OverviewOut.of(cut, overview(conn, cut))


def series_report(conn: Connection, cut: Cut, *, hourly: bool) -> SeriesOut:
    return SeriesOut.of(cut, series(conn, cut, hourly=hourly), hourly=hourly)


def breakdown_report(
    conn: Connection, cut: Cut, by: Dimension, names: AnalyticsLabels | None = None
) -> BreakdownOut:
    """The breakdown with each row named (`names`: the desk's names, if already read)."""
    rows = breakdown(conn, cut, by)
    labels = (names or analytics_labels(conn)).labels(by, [r.key for r in rows])
    return BreakdownOut(
        cut=CutOut.of(cut),
        by=by,
        rows=[BreakdownRowOut.of(r, label) for r, label in zip(rows, labels, strict=True)],
    )


def staffing_report(
    conn: Connection, ask: StaffingAsk, *, now: datetime, fallback_handle_seconds: float
) -> StaffingOut:
    return StaffingOut.of(
        plan_staffing(conn, ask, now=now, fallback_handle_seconds=fallback_handle_seconds)
    )


# -- CSV ---------------------------------------------------------------------------------------


def _days(cut: CutOut) -> str:
    """The range as local dates, the last one included: 2026-03-01_2026-03-07."""
    zone = ZoneInfo(cut.tz)
    first = cut.start.astimezone(zone).date()
    last = (cut.end - timedelta(microseconds=1)).astimezone(zone).date()
    return f"{first.isoformat()}_{last.isoformat()}"


def _pairs(item: BaseModel | Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every value of a model, nested models and mappings flattened to dotted names."""
    fields = dict(item)
    for name, value in fields.items():
        if isinstance(value, BaseModel | Mapping):
            yield from _pairs(value, f"{prefix}{name}.")
        else:
            yield prefix + name, value


def overview_csv(out: OverviewOut) -> Response:
    """A row per metric, `metric,value`, the cut first (cut.start, …, inbound, …)."""
    return csv_response(f"overview_{_days(out.cut)}.csv", ("metric", "value"), _pairs(out))


def series_csv(out: SeriesOut) -> Response:
    name = f"series-{out.interval}_{_days(out.cut)}.csv"
    return table_response(name, PointOut, out.points)


def breakdown_csv(out: BreakdownOut) -> Response:
    name = f"breakdown-{out.by.value}_{_days(out.cut)}.csv"
    return table_response(name, BreakdownRowOut, out.rows)


def staffing_csv(out: StaffingOut, table: StaffingTable) -> Response:
    start = out.assumptions.start.astimezone(ZoneInfo(out.assumptions.tz)).date().isoformat()
    weeks = out.assumptions.weeks
    name = f"staffing-{table}_{start}_{weeks}w.csv"
    if table == "days":
        return table_response(name, StaffingDayOut, out.days)
    return table_response(name, StaffingHourOut, out.hours)
