"""A staffing plan summed up per local day: peaks, agent-hours, and days of a clock change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from socialdesk.domain.staffing import StaffingHour
from socialdesk.domain.staffing_days import StaffingDay, by_local_day


def hour(start: datetime, agents: int, scheduled: int, volume: float = 1.0) -> StaffingHour:
    return StaffingHour(start, volume, 0.5, agents, scheduled, 0.95, 0.5, 10.0)


def test_days_add_their_hours_and_keep_their_peaks() -> None:
    start = datetime(2026, 3, 2, 22, tzinfo=UTC)
    plan = [hour(start + timedelta(hours=i), a, s) for i, (a, s) in enumerate([(1, 2), (3, 5)])]
    plan.append(hour(start + timedelta(hours=2), 2, 3, volume=4.0))
    days = by_local_day(plan, UTC)
    assert days == [
        StaffingDay(date(2026, 3, 2), 2, 2.0, 3, 5, 4, 7),
        StaffingDay(date(2026, 3, 3), 1, 4.0, 2, 3, 2, 3),
    ]


def test_a_day_is_local_and_the_spring_change_has_23_hours() -> None:
    london = ZoneInfo("Europe/London")
    start = datetime(2026, 3, 29, 0, tzinfo=UTC)  # clocks go forward at 01:00 UTC
    plan = [hour(start + timedelta(hours=i), 1, 1) for i in range(47)]
    days = by_local_day(plan, london)
    assert [(d.day, d.hours) for d in days] == [(date(2026, 3, 29), 23), (date(2026, 3, 30), 24)]
    berlin = by_local_day(plan[:1], ZoneInfo("Europe/Berlin"))
    assert berlin[0].day == date(2026, 3, 29)
