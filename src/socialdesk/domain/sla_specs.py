"""Calendars and SLA policies as supervisors write and store them (names, weekly hours, a
holiday country, targets in minutes), turned into the computable `BusinessCalendar` and
`SlaPolicy` of `calendars.py` and `sla.py`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from socialdesk.domain.calendars import BusinessCalendar
from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.platforms import PLATFORM_NAME
from socialdesk.domain.sla import SlaPolicy, SlaTarget

MAX_TARGET_MINUTES = 60 * 24 * 365
TARGET_KEYS = {"priority_min", "platform", "first_response", "next_response", "resolution"}


@dataclass(slots=True)
class CalendarSpec:
    name: str
    timezone: str
    weekly: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    extra_holidays: list[str] = field(default_factory=list)  # ISO dates
    id: int | None = None

    def build(self, holidays: Iterable[date]) -> BusinessCalendar:
        """The computable calendar, closed on `holidays` (the country's, for the years asked)
        and on the extra dates."""
        extra = {_iso_date(d, "extra_holidays") for d in self.extra_holidays}
        return BusinessCalendar.from_spec(
            self.name, self.timezone, self.weekly, frozenset(holidays) | extra
        )


@dataclass(slots=True)
class SlaPolicySpec:
    """Targets in minutes, e.g. [{"first_response": 60, "next_response": 120, "resolution":
    1440}, {"priority_min": 70, "first_response": 15}, {"platform": "x", "first_response": 30}]."""

    name: str
    targets: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    calendar_id: int | None = None
    pause_when_pending: bool = True
    warn_before_minutes: int = 15
    id: int | None = None

    def build(self, calendar: BusinessCalendar | None) -> SlaPolicy:
        return SlaPolicy(
            name=self.name,
            targets=tuple(parse_target(t, i) for i, t in enumerate(self.targets)),
            calendar=calendar or BusinessCalendar.always_open(),
            pause_when_pending=self.pause_when_pending,
            warn_before=timedelta(minutes=self.warn_before_minutes),
        )


def parse_target(raw: Any, index: int) -> SlaTarget:
    where = f"targets[{index}]"
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where} must be an object of minutes", field="targets")
    unknown = set(raw) - TARGET_KEYS
    if unknown:
        raise InvalidInput(
            f"{where} has unknown keys {sorted(unknown)}; use {sorted(TARGET_KEYS)}",
            field="targets",
        )
    platform = raw.get("platform")
    if platform is not None and (
        not isinstance(platform, str) or not PLATFORM_NAME.match(platform)
    ):
        raise InvalidInput(f"{where}.platform is not a platform name", field="targets")
    priority_min = raw.get("priority_min", 0)
    if (
        not isinstance(priority_min, int)
        or isinstance(priority_min, bool)
        or not 0 <= priority_min <= 100
    ):
        raise InvalidInput(f"{where}.priority_min must be 0-100", field="targets")
    minutes = {
        k: _minutes(raw.get(k), f"{where}.{k}")
        for k in ("first_response", "next_response", "resolution")
    }
    if all(v is None for v in minutes.values()):
        raise InvalidInput(
            f"{where} sets no target: give first_response, next_response and/or resolution "
            "in minutes",
            field="targets",
        )
    return SlaTarget(
        first_response=minutes["first_response"],
        next_response=minutes["next_response"],
        resolution=minutes["resolution"],
        priority_min=priority_min,
        platform=platform,
    )


def _minutes(value: Any, where: str) -> timedelta | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value <= MAX_TARGET_MINUTES
    ):
        raise InvalidInput(f"{where} must be a number of minutes above 0", field="targets")
    return timedelta(minutes=value)


def _iso_date(value: str, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{where}: {value!r} is not a date like 2026-12-24", field=where
        ) from exc
