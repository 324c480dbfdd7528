"""Staffing: forecast hourly inbound volume, then the agents needed to answer it within a target.
Pure: the caller passes the history and every time; nothing here reads the clock or the database.

Why: a center justifies dedicated social staff by showing, hour by hour, how many messages will
arrive and how many agents it takes to answer, say, 90 % of them within 60 minutes.

Forecast
--------
Volume follows the week as people live it: Monday 09:00 local looks like last Monday 09:00 local.
So each hour is keyed by its hour of the week in the team's time zone (Monday 00:00 local is 0)
and a clock change moves the key with the wall clock. Within the window the caller names, an hour
missing from the history had no messages. A key's weekly value is its count in that week (the
mean of both when clocks fall back and the hour shows twice; none when it is skipped); the
forecast is the mean of the last `lookback_weeks` weekly values weighted by `decay ** age` (age 0:
the week ending at the history end), so a lasting change shows within two or three weeks while one
odd week weighs little. A mean, not a median: Erlang C needs the mean arrival rate, and a median
of sparse counts understates it (hours averaging 0.6 messages have median 0 and would get nobody).
The 80 % interval is the mean ± 1.28 weighted standard deviations of the weekly values, but at
least the Poisson spread sqrt(mean), clipped at zero. A key without data (history shorter than a
week) borrows the level of the same local hour on the other days, else of all hours (zero without
any history), and says so with `basis_weeks == 0`.

Queue model and concurrency
---------------------------
Erlang C: Poisson arrivals, exponential handle times, first come first served, nobody abandons
(customers who give up lower the load, so the answer errs towards more staff). With traffic
A = arrivals/hour x handle seconds / 3600 and N servers: C(N, A) is the chance a conversation
waits, the share answered within T is 1 - C e^(-(N - A) T / AHT), and the average speed of answer
is C AHT / (N - A). N <= A is unstable (the queue grows all hour): nobody is served in time.

An agent working k conversations at once is k servers ("slots"): routing by capacity hands them a
new conversation as soon as one of their k ends. So Erlang C runs on slots, agents on queue =
ceil(slots / k), and the figures reported are those of agents x k slots (at least the target).
`handle_seconds` is the time a conversation holds a slot, as the desk measures it (assignment to
done, interleaving included). If it was measured as focused one-at-a-time work instead,
`parallel_slowdown` s lengthens it: each extra parallel conversation adds s of it, so a slot holds
a conversation for handle x (1 + s (k - 1)); s = 1 means working in parallel gains nothing.
Shrinkage (breaks, meetings, training) turns agents on queue into agents scheduled:
ceil(on queue / (1 - shrinkage)).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from socialdesk.domain.calendars import zone
from socialdesk.domain.errors import InvalidInput

HOUR = timedelta(hours=1)
WEEK = timedelta(weeks=1)
_Z80 = 1.2815515655446004  # standard normal quantile 0.9: 80 % lies within ±_Z80 deviations


@dataclass(frozen=True, slots=True)
class HourlyVolume:
    """Inbound messages that arrived in the hour starting at `hour_start` (aware, on the hour)."""

    hour_start: datetime
    count: int


@dataclass(frozen=True, slots=True)
class ForecastHour:
    """Expected inbound volume of one hour (UTC start) with an 80 % interval [low, high].

    `basis_weeks`: weeks of history behind this local hour of the week; 0 means the level was
    borrowed from other hours (see the module docstring), so read it as a rough guess.
    """

    hour_start: datetime
    expected: float
    low: float
    high: float
    basis_weeks: int


@dataclass(frozen=True, slots=True)
class ErlangResult:
    """Servers on a queue and how it behaves: share answered within target, occupancy, ASA."""

    agents: int
    service_level: float
    occupancy: float
    asa_seconds: float


@dataclass(frozen=True, slots=True)
class StaffingHour:
    """One hour of a staffing plan: agents on queue meet the target; scheduled adds shrinkage."""

    hour_start: datetime
    expected_volume: float
    traffic_erlangs: float
    agents: int
    agents_scheduled: int
    service_level: float
    occupancy: float
    asa_seconds: float


def forecast(
    history: Iterable[HourlyVolume],
    start: datetime,
    weeks: int,
    tz: str,
    *,
    history_start: datetime,
    history_end: datetime,
    lookback_weeks: int = 8,
    decay: float = 0.75,
) -> list[ForecastHour]:
    """Hourly volume for `weeks` x 168 hours from `start`, learnt from [history_start, history_end).

    Every datetime must be aware and on the hour; history hours must lie in the window, once each.
    """
    local = zone(tz, "tz")
    first = _on_hour(start, "start")
    low = _on_hour(history_start, "history_start")
    high = _on_hour(history_end, "history_end")
    _require(low <= high, "history_end", "history_end must not be before history_start")
    _require(weeks >= 1, "weeks", f"weeks must be at least 1, got {weeks}")
    _require(
        lookback_weeks >= 1, "lookback_weeks", f"lookback_weeks must be >= 1: {lookback_weeks}"
    )
    _require(0 < decay <= 1, "decay", f"decay must be in (0, 1], e.g. 0.75; got {decay}")
    counts: dict[datetime, int] = {}
    for item in history:
        at = _on_hour(item.hour_start, "hour_start")
        hour = at.isoformat()
        window = f"[{low.isoformat()}, {high.isoformat()})"
        _require(low <= at < high, "history", f"hour {hour} lies outside the window {window}")
        _require(at not in counts, "history", f"hour {hour} appears twice in the history")
        _require(item.count >= 0, "history", f"hour {hour} has a negative count ({item.count})")
        counts[at] = item.count
    # {hour of week: {age in weeks: [messages, hours]}}; two hours only when clocks fall back.
    cells: dict[int, dict[int, list[int]]] = {}
    at = max(low, high - lookback_weeks * WEEK)
    while at < high:
        cell = cells.setdefault(_hour_of_week(at, local), {}).setdefault(
            (high - at - HOUR) // WEEK, [0, 0]
        )
        cell[0] += counts.get(at, 0)
        cell[1] += 1
        at += HOUR
    weekly = {
        key: [(age, total / n) for age, (total, n) in by_age.items()]
        for key, by_age in cells.items()
    }
    result = []
    for i in range(weeks * 168):
        at = first + i * HOUR
        key = _hour_of_week(at, local)
        values = weekly.get(key, [])
        basis = len(values)
        if not values:
            values = [v for k, vs in weekly.items() if k % 24 == key % 24 for v in vs]
            values = values or [v for vs in weekly.values() for v in vs]
        mean, deviation = _weighted(values, decay)
        spread = _Z80 * max(deviation, math.sqrt(mean))
        result.append(ForecastHour(at, mean, max(0.0, mean - spread), mean + spread, basis))
    return result


def erlang_c(traffic_erlangs: float, agents: int) -> float:
    """The probability that an arrival waits; 1.0 when agents <= traffic (an unstable queue)."""
    _require(
        traffic_erlangs >= 0, "traffic_erlangs", f"traffic must be >= 0, got {traffic_erlangs}"
    )
    _require(agents >= 1, "agents", f"agents must be at least 1, got {agents}")
    if traffic_erlangs == 0:
        return 0.0
    if agents <= traffic_erlangs:
        return 1.0
    return _c(traffic_erlangs, agents, _erlang_b(traffic_erlangs, agents))


def service_level(
    arrival_rate_per_hour: float, handle_seconds: float, agents: int, target_seconds: float
) -> float:
    """The share of arrivals answered within `target_seconds` by `agents` servers."""
    traffic = _traffic(arrival_rate_per_hour, handle_seconds)
    _check_seconds(target_seconds)
    c = erlang_c(traffic, agents)
    if agents <= traffic:
        return 0.0
    return 1.0 - c * math.exp(-(agents - traffic) * target_seconds / handle_seconds)


def agents_needed(
    arrival_rate_per_hour: float, handle_seconds: float, target_share: float, target_seconds: float
) -> ErlangResult:
    """The fewest servers (more than the traffic) answering `target_share` within the target.

    Steps the Erlang B recursion one server at a time, so the search costs O(servers) in all.
    """
    traffic = _traffic(arrival_rate_per_hour, handle_seconds)
    _check_share(target_share)
    _check_seconds(target_seconds)
    if traffic == 0:
        return ErlangResult(0, 1.0, 0.0, 0.0)
    servers = math.floor(traffic) + 1
    blocking = _erlang_b(traffic, servers)
    while True:
        outcome = _outcome(traffic, servers, blocking, handle_seconds, target_seconds)
        if outcome.service_level >= target_share:
            return outcome
        servers += 1
        blocking = traffic * blocking / (servers + traffic * blocking)


def staffing_plan(
    forecast_hours: Iterable[ForecastHour],
    *,
    handle_seconds: float,
    concurrency: int = 1,
    target_share: float = 0.9,
    target_seconds: float = 3600,
    shrinkage: float = 0.3,
    parallel_slowdown: float = 0.0,
) -> list[StaffingHour]:
    """Agents on queue and scheduled for each forecast hour (see the module docstring)."""
    _require(concurrency >= 1, "concurrency", f"concurrency must be >= 1, got {concurrency}")
    _require(0 <= shrinkage < 1, "shrinkage", f"shrinkage must be in [0, 1), e.g. 0.3: {shrinkage}")
    slowdown = (
        f"parallel_slowdown must be in [0, 1] (1: parallel work gains nothing): {parallel_slowdown}"
    )
    _require(0 <= parallel_slowdown <= 1, "parallel_slowdown", slowdown)
    _check_handle(handle_seconds)
    _check_share(target_share)
    _check_seconds(target_seconds)
    slot_seconds = handle_seconds * (1 + parallel_slowdown * (concurrency - 1))
    plan = []
    for hour in forecast_hours:
        traffic = _traffic(hour.expected, slot_seconds)
        need = agents_needed(hour.expected, slot_seconds, target_share, target_seconds)
        agents = -(-need.agents // concurrency)
        staffed = need
        if agents * concurrency != need.agents:
            slots = agents * concurrency
            staffed = _outcome(
                traffic, slots, _erlang_b(traffic, slots), slot_seconds, target_seconds
            )
        # Rounded first so that float noise (1 / (1 - 0.9) = 10.000000000000002) adds no agent.
        scheduled = math.ceil(round(agents / (1 - shrinkage), 9))
        plan.append(
            StaffingHour(
                hour_start=hour.hour_start,
                expected_volume=hour.expected,
                traffic_erlangs=traffic,
                agents=agents,
                agents_scheduled=scheduled,
                service_level=staffed.service_level,
                occupancy=staffed.occupancy,
                asa_seconds=staffed.asa_seconds,
            )
        )
    return plan


def _erlang_b(traffic: float, servers: int) -> float:
    """Erlang B by B(n) = A B(n-1) / (n + A B(n-1)), B(0) = 1: it stays in [0, 1], so it never
    overflows where A**n / n! would (A = 500 needs n! for n > 500)."""
    blocking = 1.0
    for n in range(1, servers + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return blocking


def _c(traffic: float, servers: int, blocking: float) -> float:
    """Erlang C from Erlang B: C = N B / (N - A (1 - B)); requires N > A."""
    return servers * blocking / (servers - traffic * (1 - blocking))


def _outcome(
    traffic: float, servers: int, blocking: float, handle_seconds: float, target_seconds: float
) -> ErlangResult:
    wait = _c(traffic, servers, blocking)
    drain = (servers - traffic) / handle_seconds  # rate at which the queue ahead clears, per second
    level = 1.0 - wait * math.exp(-drain * target_seconds)
    return ErlangResult(servers, level, traffic / servers, wait / drain)


def _traffic(arrival_rate_per_hour: float, handle_seconds: float) -> float:
    rate = f"arrivals per hour must be >= 0, got {arrival_rate_per_hour}"
    _require(arrival_rate_per_hour >= 0, "arrival_rate_per_hour", rate)
    _check_handle(handle_seconds)
    return arrival_rate_per_hour * handle_seconds / 3600


def _check_handle(seconds: float) -> None:
    _require(seconds > 0, "handle_seconds", f"handle time must be > 0 seconds, got {seconds}")


def _check_share(share: float) -> None:
    share_text = f"target share must be in (0, 1), e.g. 0.9 for 90 %; got {share}"
    _require(0 < share < 1, "target_share", share_text)


def _check_seconds(seconds: float) -> None:
    _require(seconds > 0, "target_seconds", f"target must be > 0 seconds, got {seconds}")


def _require(ok: bool, field: str, message: str) -> None:
    """Raises InvalidInput unless `ok`; comparisons with NaN are false, so NaN is refused too."""
    if not ok:
        raise InvalidInput(message, field=field)


def _weighted(values: list[tuple[int, float]], decay: float) -> tuple[float, float]:
    """Mean and standard deviation of (age, value) pairs weighted by decay ** age; zeros if none."""
    if not values:
        return 0.0, 0.0
    weights = [decay**age for age, _ in values]
    total = sum(weights)
    mean = sum(w * v for w, (_, v) in zip(weights, values, strict=True)) / total
    variance = sum(w * (v - mean) ** 2 for w, (_, v) in zip(weights, values, strict=True)) / total
    return mean, math.sqrt(variance)


def _hour_of_week(at: datetime, tz: ZoneInfo) -> int:
    local = at.astimezone(tz)
    return local.weekday() * 24 + local.hour


def _on_hour(value: datetime, name: str) -> datetime:
    aware = value.tzinfo is not None and value.utcoffset() is not None
    _require(aware, name, f"{name} must be timezone-aware (UTC), got {value.isoformat()}")
    value = value.astimezone(UTC)
    on_hour = not (value.minute or value.second or value.microsecond)
    _require(on_hour, name, f"{name} must be on the hour, got {value.isoformat()}")
    return value
