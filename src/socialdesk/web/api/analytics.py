"""The analytics API: the dashboard's numbers (docs/metrics.md) and the staffing plan
(docs/staffing.md), as JSON or, with `format=csv` or `Accept: text/csv`, as CSV downloads.
Supervisors and admins only: the numbers compare agents and teams."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from socialdesk.queries.analytics import Cut
from socialdesk.queries.staffing import StaffingAsk
from socialdesk.web.analytics_params import (
    parse_cut,
    parse_dimension,
    parse_interval,
    parse_staffing,
    parse_table,
    wants_csv,
)
from socialdesk.web.analytics_reports import (
    breakdown_csv,
    breakdown_report,
    overview_csv,
    overview_report,
    series_csv,
    series_report,
    staffing_csv,
    staffing_report,
)
from socialdesk.web.api.analytics_schemas import BreakdownOut, OverviewOut, SeriesOut, StaffingOut
from socialdesk.web.deps import DeskDep, ReplicaConn, Supervisor
from socialdesk.web.routing import StrictJsonRoute

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], route_class=StrictJsonRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid API token"},
    403: {"description": "supervisors and admins only"},
    422: {"description": "a parameter is wrong; `field` names it"},
}
CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or CSV (a header row, then a row each) with format=csv",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    **ERRORS,
}

Text = Annotated[str | None, Query(max_length=100)]


def cut_param(
    desk: DeskDep,
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            max_length=40,
            description="a local date (2026-03-01: from its start) or an ISO date and time; "
            "default: 6 days before `to`",
        ),
    ] = None,
    to: Annotated[
        str | None,
        Query(
            max_length=40,
            description="a local date (2026-03-07: to its end, included) or an ISO date and "
            "time (excluded); default: today",
        ),
    ] = None,
    tz: Annotated[
        str | None,
        Query(max_length=64, description="IANA zone of the local days; default: the desk's"),
    ] = None,
    hours: Annotated[
        str | None, Query(max_length=20, description="calendar (default) or business")
    ] = None,
    platform: Text = None,
    channel: Annotated[str | None, Query(max_length=20, description="channel id")] = None,
    team: Annotated[str | None, Query(max_length=20, description="team id")] = None,
    agent: Annotated[str | None, Query(max_length=20, description="agent id")] = None,
    intent: Text = None,
    tag: Text = None,
) -> Cut:
    values = {
        "from": from_,
        "to": to,
        "tz": tz,
        "hours": hours,
        "platform": platform,
        "channel": channel,
        "team": team,
        "agent": agent,
        "intent": intent,
        "tag": tag,
    }
    return parse_cut(values, now=desk.clock.now(), default_tz=desk.settings.timezone)


def csv_param(
    request: Request,
    format_: Annotated[
        str | None,
        Query(alias="format", max_length=10, description="json (default) or csv"),
    ] = None,
) -> bool:
    return wants_csv(format_, request.headers.get("accept"))


CutDep = Annotated[Cut, Depends(cut_param)]
AsCsv = Annotated[bool, Depends(csv_param)]


@router.get("/overview", response_model=OverviewOut, responses=CSV)
def overview_numbers(
    _: Supervisor, cut: CutDep, conn: ReplicaConn, as_csv: AsCsv
) -> OverviewOut | Response:
    """Every metric over the range and cut; the CSV has a row per metric (`metric,value`)."""
    out = overview_report(conn, cut)
    return overview_csv(out) if as_csv else out


@router.get("/series", response_model=SeriesOut, responses=CSV)
def series_points(
    _: Supervisor,
    cut: CutDep,
    conn: ReplicaConn,
    as_csv: AsCsv,
    interval: Annotated[
        str | None, Query(max_length=10, description="auto (hours for ≤ 2 days), hour or day")
    ] = None,
) -> SeriesOut | Response:
    """Inbound, outbound and negative messages per hour or local day, and the backlog at the
    end of each."""
    hourly = parse_interval(interval, cut)
    out = series_report(conn, cut, hourly=hourly)
    return series_csv(out) if as_csv else out


@router.get("/breakdown", response_model=BreakdownOut, responses=CSV)
def breakdown_rows(
    _: Supervisor,
    cut: CutDep,
    conn: ReplicaConn,
    as_csv: AsCsv,
    by: Annotated[
        str | None,
        Query(max_length=20, description="platform (default), channel, team, agent, intent or tag"),
    ] = None,
) -> BreakdownOut | Response:
    """Volume, response rate, first response time and SLA per value of one dimension."""
    out = breakdown_report(conn, cut, parse_dimension(by))
    return breakdown_csv(out) if as_csv else out


def staffing_param(
    desk: DeskDep,
    tz: Annotated[
        str | None, Query(max_length=64, description="IANA zone of the plan; default: the desk's")
    ] = None,
    weeks: Annotated[str | None, Query(max_length=10, description="weeks ahead, 1–4 (2)")] = None,
    history_weeks: Annotated[
        str | None, Query(max_length=10, description="weeks of history to learn from, 1–26 (8)")
    ] = None,
    handle_minutes: Annotated[
        str | None,
        Query(
            max_length=20, description="handle time per reply; default: measured (docs/staffing.md)"
        ),
    ] = None,
    concurrency: Annotated[
        str | None, Query(max_length=10, description="conversations an agent works at once (3)")
    ] = None,
    target_share: Annotated[
        str | None, Query(max_length=20, description="share to answer within the target (0.9)")
    ] = None,
    target_minutes: Annotated[
        str | None, Query(max_length=20, description="the target's minutes (60)")
    ] = None,
    shrinkage: Annotated[
        str | None, Query(max_length=20, description="share of paid time off the queue (0.3)")
    ] = None,
    platform: Text = None,
    team: Annotated[str | None, Query(max_length=20, description="team id")] = None,
) -> StaffingAsk:
    given = {
        "tz": tz,
        "weeks": weeks,
        "history_weeks": history_weeks,
        "handle_minutes": handle_minutes,
        "concurrency": concurrency,
        "target_share": target_share,
        "target_minutes": target_minutes,
        "shrinkage": shrinkage,
        "platform": platform,
        "team": team,
    }
    return parse_staffing(given, default_tz=desk.settings.timezone)


@router.get("/staffing", response_model=StaffingOut, responses=CSV)
def staffing_plan(
    _: Supervisor,
    ask: Annotated[StaffingAsk, Depends(staffing_param)],
    desk: DeskDep,
    conn: ReplicaConn,
    as_csv: AsCsv,
    table: Annotated[
        str | None, Query(max_length=10, description="with format=csv: hours (default) or days")
    ] = None,
) -> StaffingOut | Response:
    """Forecast messages needing a response per hour for the next weeks (hour-of-week
    seasonality) and the agents needed to answer `target_share` of them within
    `target_minutes` (Erlang C, with concurrency and shrinkage); with a summary per local day."""
    chosen = parse_table(table)
    out = staffing_report(
        conn,
        ask,
        now=desk.clock.now(),
        fallback_handle_seconds=desk.settings.staffing_handle_minutes * 60,
    )
    return staffing_csv(out, chosen) if as_csv else out
