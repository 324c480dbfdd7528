"""A staffing plan summed up per local day: what a rota is written from. Pure.

A day is a calendar day in the team's time zone, so a day of a clock change has 23 or 25 hours.
Agent-hours add each hour's agents (an hour row stands for one hour of work); the peak is the
largest hour, which sets how many people the day needs at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, tzinfo

from socialdesk.domain.staffing import StaffingHour


@dataclass(frozen=True, slots=True)
class StaffingDay:
    day: date
    hours: int
    expected_volume: float
    peak_agents: int
    peak_scheduled: int
    agent_hours: int
    scheduled_hours: int


def by_local_day(plan: Iterable[StaffingHour], zone: tzinfo) -> list[StaffingDay]:
    """One row per local day the plan touches, in order."""
    days: dict[date, list[StaffingHour]] = {}
    for hour in plan:
        days.setdefault(hour.hour_start.astimezone(zone).date(), []).append(hour)
    return [
        StaffingDay(
            day=day,
            hours=len(hours),
            expected_volume=sum(h.expected_volume for h in hours),
            peak_agents=max(h.agents for h in hours),
            peak_scheduled=max(h.agents_scheduled for h in hours),
            agent_hours=sum(h.agents for h in hours),
            scheduled_hours=sum(h.agents_scheduled for h in hours),
        )
        for day, hours in sorted(days.items())
    ]
