"""Business-hours calendars and clock arithmetic that counts only open time. Pure: never reads the clock.

An SLA such as "first response within 1 hour, in business hours" needs three questions answered
exactly: is the team open at this instant, when does it next open, and which instant lies a given
amount of *open* time after another (and the inverse: how much open time lies between two instants).
A calendar is a time zone, seven days of local wall-clock opening intervals and a set of local
holiday dates; every datetime going in or out is timezone-aware UTC (aware datetimes in another zone
are accepted and converted; naive ones are a programming error and raise ValueError).

How local wall-clock hours become real instants
-----------------------------------------------
The interval ``(start, end)`` on local date ``d`` is open from the **first instant at which the wall
clock of the zone reads ``d start`` or later** until the first instant at which it reads ``d end``
or later (``end == time(0)`` means the end of the day, i.e. the first instant of the next date).
Intervals are half-open: open at their start, closed at their end (unless another interval starts
there, as with ``22:00-24:00`` followed by ``00:00-06:00`` the next day). Consequences:

* ordinary times map to the one instant that shows them;
* an ambiguous time (clocks fall back, the wall clock shows 02:30 twice) maps to its first
  occurrence (``fold=0``), so an interval that spans the repeated hour contains both occurrences
  (09:00-18:00 on a fall-back day is 10 real hours if the change happens inside it; 00:00-02:30 is
  2.5 hours and 02:30-05:00 is 3.5 hours);
* a skipped time (clocks spring forward, 02:30 never shows) maps to the instant the clocks jumped,
  so 01:00-02:30 is one real hour, 02:30-06:00 opens at 03:00 new time, and an interval lying wholly
  in the gap (02:00-03:00 in Berlin) has no open time that day;
* the mapping never goes backwards, so a day's intervals stay ordered and never overlap, and the
  dates partition the timeline: each instant belongs to exactly one local date, the one whose first
  instant (as defined above) is the latest not after it. That date decides the day's hours and
  whether it is a holiday. It differs from ``astimezone(zone).date()`` only where clocks fall back
  across midnight (America/Goose_Bay, 2010-11-07 00:01 back to 23:01): the repeated 23:01-24:00
  already belongs to the new date, which began when the wall clock first read 00:00. (Asia/Beirut falls back *at* midnight,
  from 24:00 to 23:00, so there Saturday's 23:00-24:00 shows twice and both belong to Saturday.)

Zero durations
--------------
``add_business_time(start, timedelta(0))`` is ``next_open(start)``: a due time that falls while
the team is closed means "when it next opens". A positive duration gives the *earliest* instant by
which that much open time has passed, which may be an interval's end (1 hour from 17:00 with a 18:00
close is 18:00 itself, not the next morning). Together: ``business_time_between(s, add(s, d)) == d``
and ``add(add(s, a), b) == add(s, a + b)`` for every ``b > 0``.

Speed
-----
The UTC intervals of each local date and the open time of each Monday-first week are computed once
per calendar and memoised, so the arithmetic steps over whole weeks, then whole days, then intervals;
it never walks minute by minute.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from socialdesk.domain.errors import InvalidInput

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIDNIGHT = time(0)

Interval = tuple[time, time]
"""An open (start, end) interval in local wall-clock time; end ``time(0)`` means 24:00."""

_ZERO = timedelta(0)
_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FULL_NAMES = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")
_CLOSED_WORDS = frozenset({"", "closed", "none", "-"})


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When a team is open: a time zone, weekly local hours (Monday first) and closed local dates.

    Construction validates everything (raising InvalidInput), because a calendar is usually written
    by a supervisor and a bad one would otherwise surface later as a wrong due time or a hang.
    Lists are accepted for ``hours`` and any iterable of dates for ``holidays``; they are stored as
    tuples and a frozenset so the calendar is hashable.
    """

    name: str
    timezone: str
    hours: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        zone(self.timezone)  # raises InvalidInput for an unknown zone
        object.__setattr__(self, "hours", _validated_hours(self.hours))
        holidays = frozenset(self.holidays)
        for day in holidays:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise InvalidInput(
                    f"calendar {self.name!r}: holidays must be dates, got {day!r}",
                    field="holidays",
                )
        object.__setattr__(self, "holidays", holidays)

    # -- queries -------------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether the team is open at the instant `at`."""
        tables = _tables(self)
        x = _as_utc(at, "at")
        return any(s <= x < e for s, e in tables.intervals(tables.date_of(x)))

    def next_open(self, at: datetime) -> datetime:
        """The first open instant at or after `at` (`at` itself when open)."""
        tables = _tables(self)
        x = _as_utc(at, "at")
        day = tables.date_of(x)
        idle = _IdleGuard(self)
        while True:
            for s, e in tables.intervals(day):
                if x < e:
                    return s if s > x else x
            day += 1
            idle.closed_days(1)

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which `duration` of open time has passed since `start`.

        A zero duration gives ``next_open(start)`` (see the module docstring for why).
        """
        x = _as_utc(start, "start")
        if not isinstance(duration, timedelta):
            raise TypeError(f"duration must be a timedelta, got {type(duration).__name__}")
        if duration < _ZERO:
            raise InvalidInput(f"a business-time duration cannot be negative, got {duration}")
        if duration == _ZERO:
            return self.next_open(x)
        tables = _tables(self)
        remaining = duration
        day = tables.date_of(x)
        idle = _IdleGuard(self)
        while True:
            for s, e in tables.intervals(day):
                if e <= x:
                    continue
                lo = s if s > x else x
                available = e - lo
                if remaining <= available:
                    return lo + remaining
                remaining -= available
                idle.reset()
            day += 1
            idle.closed_days(1)
            if _weekday(day) == 0:
                # Skip whole weeks while the answer lies beyond them. Strictly less: when the week
                # holds exactly what remains, the answer is the end of its last interval.
                while (week := tables.week_total(day)) < remaining:
                    remaining -= week
                    day += 7
                    if week:
                        idle.reset()
                    else:
                        idle.closed_days(7)

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The open time in ``[start, end)``; zero when `end` is not after `start`."""
        a = _as_utc(start, "start")
        b = _as_utc(end, "end")
        if b <= a:
            return _ZERO
        tables = _tables(self)
        total = _ZERO
        day = tables.date_of(a)
        while True:
            day_start = tables.day_start(day)
            if day_start >= b:
                return total
            if _weekday(day) == 0 and day_start >= a:
                while tables.day_start(day + 7) <= b:
                    total += tables.week_total(day)
                    day += 7
                if tables.day_start(day) >= b:
                    return total
            for s, e in tables.intervals(day):
                lo = s if s > a else a
                hi = e if e < b else b
                if hi > lo:
                    total += hi - lo
            day += 1

    def weekly_spec(self) -> dict[str, list[str]]:
        """The weekly hours in the form `from_spec` reads (one key per day), for storage and display."""
        return {
            name: [f"{_format_time(s)}-{_format_time(e, end=True)}" for s, e in day]
            for name, day in zip(DAY_NAMES, self.hours, strict=True)
        }

    # -- constructors --------------------------------------------------------------------------

    @classmethod
    def always_open(cls, name: str = "24/7") -> BusinessCalendar:
        """A calendar that never closes: business time equals elapsed time."""
        return cls(name=name, timezone="UTC", hours=(((MIDNIGHT, MIDNIGHT),),) * 7)

    @classmethod
    def from_spec(
        cls,
        name: str,
        timezone: str,
        weekly: Mapping[str, str | list[str]],
        holidays: Iterable[date] = (),
    ) -> BusinessCalendar:
        """Build a calendar from a compact, human-written description.

        `weekly` maps days to hours: keys are days (``mon`` … ``sun`` or full names), ranges
        (``mon-fri``; ``fri-mon`` wraps over the weekend) or comma lists of both; values are one
        ``"HH:MM-HH:MM"`` interval, a list of them (lunch breaks), or ``[]``/``""``/``"closed"``. A day
        named by several keys gets the intervals of all of them. ``24:00`` (or ``00:00`` as an end) is midnight at the end of the day; a shift past midnight is
        two intervals (``"mon": "22:00-24:00", "tue": "00:00-06:00"``). Days not named are closed.
        """
        if not isinstance(weekly, Mapping):
            raise InvalidInput("weekly hours must be a mapping of days to hours", field="weekly")
        per_day: list[list[Interval]] = [[] for _ in DAY_NAMES]
        for key, value in weekly.items():
            intervals = _parse_intervals(key, value)
            for index in _parse_days(key):
                per_day[index].extend(intervals)
        for day_name, day in zip(DAY_NAMES, per_day, strict=True):
            # A day may be named by several keys (an overnight shift: "mon-fri": "22:00-24:00",
            # "tue-sat": "00:00-06:00"); its intervals are combined and must not overlap.
            day.sort(key=_sort_key)
            _check_disjoint(day_name, day, "weekly")
        hours = tuple(tuple(day) for day in per_day)
        return cls(name=name, timezone=timezone, hours=hours, holidays=frozenset(holidays))


# -- the memo: one calendar's dates as UTC intervals ---------------------------------------------


class _Tables:
    """The UTC intervals, first instants and weekly totals of one calendar's local dates.

    Dates are keyed by their proleptic ordinal (`date.toordinal`) so the loops step with integers.
    Entries depend only on the (immutable) calendar, so sharing them between threads is safe: a
    race at worst computes an entry twice.
    """

    __slots__ = ("_holidays", "_hours", "_intervals", "_starts", "_weeks", "zone")

    _LIMIT = 50_000  # entries per table before it is emptied: ~130 years of dates

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.zone = zone(calendar.timezone)
        self._hours = calendar.hours
        self._holidays = frozenset(d.toordinal() for d in calendar.holidays)
        self._starts: dict[int, datetime] = {}
        self._intervals: dict[int, tuple[tuple[datetime, datetime], ...]] = {}
        self._weeks: dict[int, timedelta] = {}

    def day_start(self, day: int) -> datetime:
        """The first instant of local date `day`: the first time the wall clock reads its 00:00."""
        found = self._starts.get(day)
        if found is None:
            if len(self._starts) > self._LIMIT:
                self._starts.clear()
            found = self._starts[day] = _first_instant(self.zone, date.fromordinal(day), MIDNIGHT)
        return found

    def intervals(self, day: int) -> tuple[tuple[datetime, datetime], ...]:
        """The open UTC intervals of local date `day`, ordered, non-empty, never overlapping."""
        found = self._intervals.get(day)
        if found is None:
            if len(self._intervals) > self._LIMIT:
                self._intervals.clear()
            found = self._intervals[day] = self._compute(day)
        return found

    def week_total(self, monday: int) -> timedelta:
        """The open time of the seven local dates starting at `monday`."""
        found = self._weeks.get(monday)
        if found is None:
            if len(self._weeks) > self._LIMIT:
                self._weeks.clear()
            found = sum(
                (e - s for d in range(monday, monday + 7) for s, e in self.intervals(d)), _ZERO
            )
            self._weeks[monday] = found
        return found

    def date_of(self, at: datetime) -> int:
        """The local date that instant `at` belongs to (see the module docstring)."""
        # The wall-clock date is never too late (an instant showing date d comes no earlier than
        # the first one that did), but may be too early where clocks fell back across midnight.
        day = at.astimezone(self.zone).date().toordinal()
        while at >= self.day_start(day + 1):
            day += 1
        return day

    def _compute(self, day: int) -> tuple[tuple[datetime, datetime], ...]:
        if day in self._holidays:
            return ()
        local = date.fromordinal(day)
        found = []
        for start, end in self._hours[_weekday(day)]:
            s = _first_instant(self.zone, local, start)
            e = (
                self.day_start(day + 1)
                if end == MIDNIGHT
                else _first_instant(self.zone, local, end)
            )
            if e > s:  # an interval wholly inside a skipped hour has no open time
                found.append((s, e))
        return tuple(found)


@lru_cache(maxsize=256)
def _tables(calendar: BusinessCalendar) -> _Tables:
    """The memo for a calendar; equal calendars share one, since their answers are equal."""
    return _Tables(calendar)


def _first_instant(zone: ZoneInfo, day: date, at: time) -> datetime:
    """The first instant (UTC) at which the wall clock of `zone` reads `day` `at` or later."""
    naive = datetime.combine(day, at)
    candidate = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: first occurrence if repeated
    if candidate.astimezone(zone).replace(tzinfo=None) == naive:
        return candidate
    # `naive` lies in a gap (clocks jumped over it). fold=1 reads it with the offset after the jump,
    # which lands before the jump; fold=0 with the offset before, which lands after. The jump is
    # the first instant between them whose wall clock reads past `naive`; tzdata jumps happen on
    # whole seconds, so a binary search over seconds finds it exactly.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo = (low - _EPOCH) // _SECOND  # wall clock before `naive` here
    hi = -((_EPOCH - candidate) // _SECOND)  # and past it here
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (_EPOCH + mid * _SECOND).astimezone(zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return _EPOCH + hi * _SECOND


class _IdleGuard:
    """Stops a search that would never end: raises after more closed days than a calendar can have.

    Weekly hours are never all empty (checked at construction), so only holidays (each can close at
    most one week's open days), and at most a day or two lost to clock changes, can keep a calendar
    closed; a longer run means the calendar cannot open, and looping on would hang the worker.
    """

    __slots__ = ("_calendar", "_days", "_limit")

    def __init__(self, calendar: BusinessCalendar) -> None:
        self._calendar = calendar
        self._limit = 7 * (len(calendar.holidays) + 3)
        self._days = 0

    def reset(self) -> None:
        self._days = 0

    def closed_days(self, count: int) -> None:
        self._days += count
        if self._days > self._limit:
            raise InvalidInput(
                f"calendar {self._calendar.name!r} has no open time in {self._days} days; "
                "check its hours and holidays"
            )


# -- validation and parsing ----------------------------------------------------------------------


@lru_cache(maxsize=512)
@functools.lru_cache(maxsize=64)
def zone(key: str, field: str = "timezone") -> ZoneInfo:
    """The IANA time zone named `key`; InvalidInput naming `field` when there is none."""
    if not isinstance(key, str) or not key:
        raise InvalidInput("a time zone is required, e.g. 'Europe/Berlin'", field=field)
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidInput(
            f"unknown time zone {key!r}; use an IANA name such as 'Europe/Berlin' or 'UTC'",
            field=field,
        ) from exc


def _as_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _weekday(ordinal: int) -> int:
    """Monday 0 … Sunday 6 of a proleptic ordinal (ordinal 1, 0001-01-01, was a Monday)."""
    return (ordinal - 1) % 7


def _sort_key(interval: Interval) -> tuple[time, bool]:
    return interval[0], interval[1] == MIDNIGHT


def _end_key(end: time) -> tuple[bool, time]:
    """Orders ends so that time(0), meaning 24:00, comes after every other time."""
    return end == MIDNIGHT, end


def _validated_hours(hours: object) -> tuple[tuple[Interval, ...], ...]:
    if not isinstance(hours, tuple | list) or len(hours) != 7:
        raise InvalidInput(
            "hours must have 7 entries, Monday first (an empty one is a closed day)", field="hours"
        )
    result: list[tuple[Interval, ...]] = []
    for name, day in zip(DAY_NAMES, hours, strict=True):
        if not isinstance(day, tuple | list):
            raise InvalidInput(f"{name}: hours must be a list of (start, end) pairs", field="hours")
        intervals: list[Interval] = []
        for pair in day:
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise InvalidInput(f"{name}: {pair!r} is not a (start, end) pair", field="hours")
            start, end = pair
            for value in (start, end):
                if not isinstance(value, time) or value.tzinfo is not None:
                    raise InvalidInput(
                        f"{name}: {value!r} must be a local time without a time zone",
                        field="hours",
                    )
            if end != MIDNIGHT and end <= start:
                raise InvalidInput(
                    f"{name}: interval {_format_time(start)}-{_format_time(end, end=True)} ends "
                    "before it starts; a shift past midnight is two intervals "
                    "(22:00-24:00, then 00:00-06:00 the next day)",
                    field="hours",
                )
            intervals.append((start, end))
        _check_disjoint(name, intervals, "hours")
        result.append(tuple(intervals))
    if not any(result):
        raise InvalidInput(
            "a calendar must be open at some time in the week (every day is closed)",
            field="hours",
        )
    return tuple(result)


def _parse_days(key: object) -> list[int]:
    if not isinstance(key, str):
        raise InvalidInput(f"unknown day {key!r}; use mon … sun or a range like mon-fri")
    found: list[int] = []
    for part in key.lower().split(","):
        bounds = [_day_index(b, key) for b in part.split("-")]
        if len(bounds) == 1:
            found.append(bounds[0])
        elif len(bounds) == 2:
            first, last = bounds
            found.extend((first + i) % 7 for i in range((last - first) % 7 + 1))
        else:
            raise InvalidInput(f"unknown day range {key!r}; write ranges like mon-fri")
    return found


def _day_index(word: str, key: str) -> int:
    word = word.strip()
    word = _FULL_NAMES.get(word, word)
    if word not in DAY_NAMES:
        raise InvalidInput(
            f"unknown day {word!r} in {key!r}; use mon, tue, wed, thu, fri, sat, sun or a range "
            "like mon-fri",
            field="weekly",
        )
    return DAY_NAMES.index(word)


def _parse_intervals(key: str, value: object) -> list[Interval]:
    if value is None:
        return []
    if isinstance(value, str):
        if value.strip().lower() in _CLOSED_WORDS:
            return []
        texts = [value]
    elif isinstance(value, list | tuple):
        texts = list(value)
    else:
        raise InvalidInput(
            f"{key}: hours must be 'HH:MM-HH:MM' or a list of them, got {value!r}", field="weekly"
        )
    intervals = []
    for text in texts:
        if not isinstance(text, str) or text.count("-") != 1:
            raise InvalidInput(
                f"{key}: {text!r} is not an interval like '08:00-18:00'", field="weekly"
            )
        start_text, end_text = text.split("-")
        start = _parse_time(start_text, key, end=False)
        end = _parse_time(end_text, key, end=True)
        if end != MIDNIGHT and end <= start:
            raise InvalidInput(
                f"{key}: interval {text!r} ends before it starts; a shift past midnight is two "
                "intervals, e.g. 'mon': '22:00-24:00', 'tue': '00:00-06:00'",
                field="weekly",
            )
        intervals.append((start, end))
    intervals.sort(key=_sort_key)
    _check_disjoint(key, intervals, "weekly")
    return intervals


def _check_disjoint(where: str, intervals: list[Interval], field: str) -> None:
    """Refuses overlapping or unordered intervals (touching ones are fine: 08-12 and 12-17)."""
    for (s1, e1), (s2, e2) in pairwise(intervals):
        if _end_key(e1) > (False, s2):
            raise InvalidInput(
                f"{where}: intervals {_format_time(s1)}-{_format_time(e1, end=True)} and "
                f"{_format_time(s2)}-{_format_time(e2, end=True)} overlap or are out of order",
                field=field,
            )


def _parse_time(text: str, key: str, *, end: bool) -> time:
    match = _TIME.match(text.strip())
    if match is None:
        raise InvalidInput(f"{key}: {text.strip()!r} is not a time like '08:30'", field="weekly")
    hour, minute = int(match[1]), int(match[2])
    second = int(match[3] or 0)
    micro = int((match[4] or "").ljust(6, "0"))
    if hour == 24 and minute == second == micro == 0:
        if not end:
            raise InvalidInput(f"{key}: an interval cannot start at 24:00", field="weekly")
        return MIDNIGHT
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidInput(f"{key}: {text.strip()!r} is not a valid time of day", field="weekly")
    return time(hour, minute, second, micro)


def _format_time(value: time, *, end: bool = False) -> str:
    if end and value == MIDNIGHT:
        return "24:00"
    text = f"{value.hour:02d}:{value.minute:02d}"
    if value.second or value.microsecond:
        text += f":{value.second:02d}"
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text
