"""Handle time as the desk can measure it: how long an agent works on one reply.
Pure: the caller passes the agents' activity; nothing here reads the clock or the database.

The desk records when an agent sends a reply or writes a note, not when they start working on
one. So the work behind a reply is estimated as the time since that agent's previous reply or
note, in any conversation: while an agent works the queue, their replies follow each other at
the pace of their work. A gap longer than `IDLE_AFTER` (30 min) is not work but a break, a
meeting or the end of a shift; the reply after it, like an agent's first reply of the window,
has no known start and is left out rather than counted as 30 min, which would overstate the
time of desks with few replies. Gaps shorter than `FLOOR` (30 s: a burst of one-click replies)
count as 30 s. The handle time is the median of these estimates, robust against the odd long
gap; with fewer than `MIN_REPLIES` estimates it is not trusted and a configured value is used.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

IDLE_AFTER = timedelta(minutes=30)
FLOOR = timedelta(seconds=30)
MIN_REPLIES = 50


class HandleSource(StrEnum):
    MEASURED = "measured"  # the median of the desk's own replies
    SETTING = "setting"  # too few replies measured: the configured fallback
    GIVEN = "given"  # the person planning typed it


@dataclass(frozen=True, slots=True)
class Activity:
    """A reply or a note an agent wrote; `counted` marks the replies whose work is measured
    (those in the window and the cut); the others only mark when the agent was last busy."""

    agent_id: int
    at: datetime
    counted: bool


@dataclass(frozen=True, slots=True)
class HandleTime:
    """The handle time a plan uses, where it came from, and what the desk measured."""

    seconds: float
    source: HandleSource
    replies_measured: int
    measured_seconds: float | None


def work_seconds(activities: Iterable[Activity]) -> list[int]:
    """The estimated work time of each counted reply that has one (see the module docstring)."""
    by_agent: dict[int, list[Activity]] = {}
    for item in activities:
        by_agent.setdefault(item.agent_id, []).append(item)
    found = []
    for items in by_agent.values():
        items.sort(key=lambda a: a.at)
        for before, item in pairwise(items):
            gap = item.at - before.at
            if item.counted and gap <= IDLE_AFTER:
                found.append(round(max(gap, FLOOR).total_seconds()))
    return sorted(found)


def choose_handle_time(
    measured: list[int], *, given_seconds: float | None, fallback_seconds: float
) -> HandleTime:
    """The typed value if any, else the measured median when enough replies back it, else the
    fallback; the measurement is reported in every case."""
    median = float(statistics.median(measured)) if measured else None
    count = len(measured)
    if given_seconds is not None:
        return HandleTime(given_seconds, HandleSource.GIVEN, count, median)
    if median is not None and count >= MIN_REPLIES:
        return HandleTime(median, HandleSource.MEASURED, count, median)
    return HandleTime(fallback_seconds, HandleSource.SETTING, count, median)
