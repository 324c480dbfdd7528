"""The query parameters of the analytics pages and API, read the same way for both.

Parameters arrive as text (a page's form sends empty fields, the API omits them), so each is
read here with its own message and the parameter's name as the field, and an empty value is the
same as none. Dates are local days in `tz`: `from=2026-03-01&to=2026-03-07` is the whole of both
days, `[from 00:00, day after to 00:00)` local; a date and time is an instant (without an offset,
in `tz`). With no range, the last 7 days including today.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from socialdesk.domain.calendars import zone
from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.platforms import PLATFORM_NAME
from socialdesk.queries.analytics import Cut, Dimension
from socialdesk.queries.staffing import StaffingAsk

DEFAULT_DAYS = 7
HOURLY_MAX_DAYS = 31
AUTO_HOURLY_DAYS = 2
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# '+' in a query string arrives as a space: '09:00:00 01:00' is read as '09:00:00+01:00'.
LOST_PLUS = re.compile(r" (\d{2}(?::?\d{2})?)$")
CUT_PARAMS = ("from", "to", "tz", "hours", "platform", "channel", "team", "agent", "intent", "tag")
STAFFING_PARAMS = (
    "tz",
    "weeks",
    "history_weeks",
    "handle_minutes",
    "concurrency",
    "target_share",
    "target_minutes",
    "shrinkage",
    "platform",
    "team",
)

Params = Mapping[str, str | None]


def _text(values: Params, name: str) -> str | None:
    value = values.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def zone_of(tz: str | None, default: str) -> ZoneInfo:
    return zone(tz or default, "tz")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)


def _instant(text: str, zone: ZoneInfo, name: str, *, end: bool) -> datetime:
    """A date as the start of that local day (of the next one for `to`), or an instant."""
    if DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise InvalidInput(f"{name} is not a real date: {text}", field=name) from exc
        return local_midnight(day + timedelta(days=1) if end else day, zone)
    try:
        moment = datetime.fromisoformat(LOST_PLUS.sub(r"+\1", text))
    except ValueError as exc:
        raise InvalidInput(
            f"{name} must be a date like 2026-03-01 or a date and time like "
            f"2026-03-01T09:00:00+01:00, not {text!r}",
            field=name,
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _number(values: Params, name: str) -> int | None:
    text = _text(values, name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise InvalidInput(f"{name} must be an id (a whole number), not {text!r}", field=name)
    return int(text)


def _platform(values: Params) -> str | None:
    text = _text(values, "platform")
    if text is not None and not PLATFORM_NAME.match(text):
        raise InvalidInput(
            f"platform must be a platform name such as x, facebook or email, not {text!r}",
            field="platform",
        )
    return text


def _word(values: Params, name: str, longest: int) -> str | None:
    text = _text(values, name)
    if text is not None and len(text) > longest:
        raise InvalidInput(f"{name} is longer than {longest} characters", field=name)
    return text


def parse_cut(values: Params, *, now: datetime, default_tz: str) -> Cut:
    """The range and filters the parameters ask for; InvalidInput names the wrong parameter."""
    zone = zone_of(_text(values, "tz"), default_tz)
    hours = _text(values, "hours") or "calendar"
    if hours not in ("calendar", "business"):
        raise InvalidInput(f"hours must be calendar or business, not {hours!r}", field="hours")
    first, last = _text(values, "from"), _text(values, "to")
    today = now.astimezone(zone).date()
    if last:
        end = _instant(last, zone, "to", end=True)
    else:
        end = local_midnight(today + timedelta(days=1), zone)
    if first:
        start = _instant(first, zone, "from", end=False)
    else:
        start = local_midnight(end.astimezone(zone).date() - timedelta(days=DEFAULT_DAYS), zone)
    return Cut(
        start=start,
        end=end,
        tz=zone.key,
        business=hours == "business",
        platform=_platform(values),
        channel_id=_number(values, "channel"),
        team_id=_number(values, "team"),
        agent_id=_number(values, "agent"),
        intent=_word(values, "intent", 64),
        tag=_word(values, "tag", 50),
    )


def parse_dimension(text: str | None) -> Dimension:
    try:
        return Dimension((text or "platform").strip())
    except ValueError as exc:
        choices = ", ".join(d.value for d in Dimension)
        raise InvalidInput(f"by must be one of {choices}, not {text!r}", field="by") from exc


def parse_interval(text: str | None, cut: Cut) -> bool:
    """Hourly or daily buckets: hour, day, or auto (hours for two days or less). Hours over more
    than 31 days are refused (a table of thousands of rows)."""
    value = (text or "auto").strip()
    if value not in ("auto", "hour", "day"):
        raise InvalidInput(f"interval must be auto, hour or day, not {value!r}", field="interval")
    span = cut.end - cut.start
    if value == "hour" and span > timedelta(days=HOURLY_MAX_DAYS):
        raise InvalidInput(
            f"an hourly series spans at most {HOURLY_MAX_DAYS} days; use interval=day",
            field="interval",
        )
    return value == "hour" or (value == "auto" and span <= timedelta(days=AUTO_HOURLY_DAYS))


def parse_table(text: str | None) -> Literal["hours", "days"]:
    """Which staffing table a CSV holds: hours (default) or days."""
    value = (text or "hours").strip()
    if value == "hours":
        return "hours"
    if value == "days":
        return "days"
    raise InvalidInput(f"table must be hours or days, not {value!r}", field="table")


def wants_csv(format_: str | None, accept: str | None) -> bool:
    """format=csv or json decides; without it, an Accept header naming text/csv asks for CSV."""
    if format_ is not None and format_.strip():
        value = format_.strip().lower()
        if value not in ("csv", "json"):
            raise InvalidInput(f"format must be json or csv, not {format_!r}", field="format")
        return value == "csv"
    return "text/csv" in (accept or "").lower()


@dataclass(frozen=True, slots=True)
class Bounds:
    """The values a staffing parameter may take, both ends included unless said."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def holds(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return math.isfinite(value) and above and below

    def text(self) -> str:
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"


def _float(values: Params, name: str, bounds: Bounds, example: str) -> float | None:
    text = _text(values, name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not bounds.holds(value):
        raise InvalidInput(
            f"{name} must be a number in {bounds.text()}, e.g. {example}; got {text!r}", field=name
        )
    return value


def _whole(values: Params, name: str, low: int, high: int) -> int | None:
    text = _text(values, name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) < 7) or not low <= int(text) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}", field=name)
    return int(text)


def parse_staffing(values: Params, *, default_tz: str) -> StaffingAsk:
    """The staffing plan the parameters ask for; each omitted one keeps StaffingAsk's default."""
    base = StaffingAsk()
    handle = _float(values, "handle_minutes", Bounds(0, 480, low_open=True), "6")
    target = _float(values, "target_minutes", Bounds(0, 10080, low_open=True), "60")
    share = _float(values, "target_share", Bounds(0, 1, True, True), "0.9 for 90 %")
    shrinkage = _float(values, "shrinkage", Bounds(0, 0.9), "0.3 for 30 %")
    team = _number(values, "team")
    return StaffingAsk(
        tz=zone_of(_text(values, "tz"), default_tz).key,
        weeks=_whole(values, "weeks", 1, 4) or base.weeks,
        history_weeks=_whole(values, "history_weeks", 1, 26) or base.history_weeks,
        handle_seconds=None if handle is None else handle * 60,
        concurrency=_whole(values, "concurrency", 1, 20) or base.concurrency,
        target_share=base.target_share if share is None else share,
        target_seconds=base.target_seconds if target is None else target * 60,
        shrinkage=base.shrinkage if shrinkage is None else shrinkage,
        platform=_platform(values),
        team_id=team,
    )
