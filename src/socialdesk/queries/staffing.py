"""Staffing read side: the hourly history of customer messages and the measured handle time,
turned into a forecast and a staffing plan (domain/staffing.py) for the pages and the API.

Three statements whatever the range: the history grouped by UTC hour, the agents' replies and
notes around the window (for the handle time, domain/handle_time.py), nothing per row. Hours are
numbered from the Unix epoch in SQL, so grouping does not depend on the session's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.sql import hour_number, hour_start
from socialdesk.domain.handle_time import (
    IDLE_AFTER,
    Activity,
    HandleTime,
    choose_handle_time,
    work_seconds,
)
from socialdesk.domain.staffing import (
    ForecastHour,
    HourlyVolume,
    StaffingHour,
    forecast,
    staffing_plan,
)
from socialdesk.domain.staffing_days import StaffingDay, by_local_day

HOUR = timedelta(hours=1)
rm = t.report_messages.c
m = t.messages.c


@dataclass(frozen=True, slots=True)
class StaffingAsk:
    """What the planner chose: the zone, how far ahead and behind, and the service target.
    `handle_seconds` None: measure it."""

    tz: str = "UTC"
    weeks: int = 2
    history_weeks: int = 8
    handle_seconds: float | None = None
    concurrency: int = 3
    target_share: float = 0.9
    target_seconds: float = 3600
    shrinkage: float = 0.3
    platform: str | None = None
    team_id: int | None = None


@dataclass(frozen=True, slots=True)
class PlannedHour:
    """One hour of the plan: its forecast, the agents it needs, its start in the plan's zone."""

    local_start: datetime
    forecast: ForecastHour
    staffing: StaffingHour


@dataclass(frozen=True, slots=True)
class StaffingView:
    ask: StaffingAsk
    handle: HandleTime
    history_start: datetime
    history_end: datetime
    start: datetime
    hours: list[PlannedHour]
    days: list[StaffingDay]


def _cut(platform: str | None, team_id: int | None) -> list[ColumnElement[bool]]:
    where = []
    if platform is not None:
        where.append(rm.platform == platform)
    if team_id is not None:
        where.append(rm.team_id == team_id)
    return where


def hourly_demand(
    conn: Connection,
    start: datetime,
    end: datetime,
    *,
    platform: str | None = None,
    team_id: int | None = None,
) -> list[HourlyVolume]:
    """Customer messages that need a response and are not suppressed, per UTC hour of
    [start, end): the work an agent must answer (praise, spam and noise need nobody). Hours
    without any are left out."""
    hour = hour_number(rm.at, conn.dialect.name)
    rows = conn.execute(
        select(hour, func.count())
        .where(
            rm.at >= start,
            rm.at < end,
            rm.direction == "inbound",
            rm.needs_response.is_(True),
            rm.suppressed.is_(False),
            *_cut(platform, team_id),
        )
        .group_by(hour)
    )
    return [HourlyVolume(hour_start(int(h)), int(n)) for h, n in rows]


def reply_work_seconds(
    conn: Connection,
    start: datetime,
    end: datetime,
    *,
    platform: str | None = None,
    team_id: int | None = None,
) -> list[int]:
    """The estimated work behind each agent reply written in [start, end) (in the cut), from
    the agents' replies and notes (domain/handle_time.py). Activity is read in the
    conversations agents replied in from `IDLE_AFTER` before the window, through the reporting
    facts' time index and the messages' conversation index (never a scan of all messages)."""
    since = start - IDLE_AFTER
    busy = (
        select(rm.conversation_id)
        .where(rm.at >= since, rm.at < end, rm.direction == "outbound", rm.agent_id.is_not(None))
        .distinct()
    )
    counted = and_(
        m.direction == "outbound",
        m.created_at >= start,
        rm.message_id.is_not(None),
        rm.auto_ack.is_(False),
        *_cut(platform, team_id),
    )
    rows = conn.execute(
        select(m.author_agent_id, m.created_at, counted)
        .select_from(t.messages.outerjoin(t.report_messages, rm.message_id == m.id))
        .where(
            m.conversation_id.in_(busy),
            m.created_at >= since,
            m.created_at < end,
            m.author_agent_id.is_not(None),
            m.direction.in_(("outbound", "note")),
        )
    )
    return work_seconds(Activity(agent, at, bool(is_counted)) for agent, at, is_counted in rows)


def _next_local_midnight(now: datetime, zone: ZoneInfo) -> datetime:
    """The first UTC hour at or after the next local midnight (zones half an hour off UTC
    start the plan at 00:30 local)."""
    tomorrow: date = now.astimezone(zone).date() + timedelta(days=1)
    midnight = datetime.combine(tomorrow, datetime.min.time(), zone).astimezone(UTC)
    hour = midnight.replace(minute=0, second=0, microsecond=0)
    return hour if hour == midnight else hour + HOUR


def plan_staffing(
    conn: Connection, ask: StaffingAsk, *, now: datetime, fallback_handle_seconds: float
) -> StaffingView:
    """The plan for `ask.weeks` from the next local midnight, learnt from the `history_weeks`
    up to the current hour. `ask.tz` must name a zone (the web layer checks it); an impossible
    target or concurrency raises InvalidInput from the domain."""
    history_end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    history_start = history_end - timedelta(weeks=ask.history_weeks)
    history = hourly_demand(
        conn, history_start, history_end, platform=ask.platform, team_id=ask.team_id
    )
    handle = choose_handle_time(
        reply_work_seconds(
            conn, history_start, history_end, platform=ask.platform, team_id=ask.team_id
        ),
        given_seconds=ask.handle_seconds,
        fallback_seconds=fallback_handle_seconds,
    )
    zone = ZoneInfo(ask.tz)
    start = _next_local_midnight(now, zone)
    hours = forecast(
        history,
        start,
        ask.weeks,
        ask.tz,
        history_start=history_start,
        history_end=history_end,
        lookback_weeks=ask.history_weeks,
    )
    plan = staffing_plan(
        hours,
        handle_seconds=handle.seconds,
        concurrency=ask.concurrency,
        target_share=ask.target_share,
        target_seconds=ask.target_seconds,
        shrinkage=ask.shrinkage,
    )
    rows = [
        PlannedHour(f.hour_start.astimezone(zone), f, p) for f, p in zip(hours, plan, strict=True)
    ]
    return StaffingView(
        ask=ask,
        handle=handle,
        history_start=history_start,
        history_end=history_end,
        start=start,
        hours=rows,
        days=by_local_day(plan, zone),
    )
