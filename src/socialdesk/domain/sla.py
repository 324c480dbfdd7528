"""Response due times. Pure: takes the times it needs; never reads the clock.

The core applies one response target to every waiting customer (first and next response):
`ResponseTargets`, plain elapsed time. `SlaPolicy` refines it with per-priority and per-platform
targets counted in the business hours of a `BusinessCalendar` (domain/calendars.py), a resolution
clock that stops while the conversation waits on the customer, and the ok/warning/breached state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from socialdesk.domain.calendars import BusinessCalendar
from socialdesk.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class ResponseTargets:
    first_response: timedelta = timedelta(hours=1)
    next_response: timedelta = timedelta(hours=1)

    def due(self, waiting_since: datetime | None, answered_before: bool) -> datetime | None:
        """When the brand must have answered a customer waiting since `waiting_since`."""
        if waiting_since is None:
            return None
        target = self.next_response if answered_before else self.first_response
        return waiting_since + target


# -- Business-hours SLA policies ------------------------------------------------------------------
#
# A policy holds per-priority (and optionally per-platform) targets measured in the business time of
# a team's calendar. The due times are recomputed from the conversation's facts each time (when it
# changes, and by the worker), so nothing here keeps state: the caller passes when the customer
# started waiting, whether the brand has answered before, and the pending time accumulated so far.


class SlaState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """What a policy promises for one class of conversations; None means no such promise."""

    first_response: timedelta | None = None
    next_response: timedelta | None = None
    resolution: timedelta | None = None
    priority_min: int = 0  # applies to conversations with priority >= this
    platform: str | None = None  # None: any platform

    def __post_init__(self) -> None:
        for name in ("first_response", "next_response", "resolution"):
            value = getattr(self, name)
            if value is not None and value < timedelta(0):
                raise InvalidInput(f"SLA target {name} cannot be negative, got {value}", field=name)


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Targets measured on a calendar. `warn_before` is wall-clock time before a due time."""

    name: str
    targets: tuple[SlaTarget, ...]
    calendar: BusinessCalendar
    pause_when_pending: bool = True  # the resolution clock stops while we wait on the customer
    warn_before: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        if self.warn_before < timedelta(0):
            raise InvalidInput(
                f"warn_before cannot be negative, got {self.warn_before}", field="warn_before"
            )
        seen: set[tuple[str | None, int]] = set()
        for target in self.targets:
            key = (target.platform, target.priority_min)
            if key in seen:
                # Two targets for the same class would make the choice depend on their order.
                where = target.platform or "any platform"
                raise InvalidInput(
                    f"SLA policy {self.name!r} has two targets for priority >= "
                    f"{target.priority_min} on {where}",
                    field="targets",
                )
            seen.add(key)

    def target_for(self, priority: int, platform: str) -> SlaTarget | None:
        """The most specific target for a conversation, or None when no target applies.

        A target for the conversation's own platform beats one for any platform (a team may promise
        faster answers on chat than by e-mail whatever the priority); among those, the one with the
        highest `priority_min` that the priority reaches.
        """
        best: SlaTarget | None = None
        best_key: tuple[bool, int] | None = None
        for target in self.targets:
            if target.priority_min > priority:
                continue
            if target.platform is not None and target.platform != platform:
                continue
            key = (target.platform is not None, target.priority_min)
            if best_key is None or key > best_key:
                best, best_key = target, key
        return best


@dataclass(frozen=True, slots=True)
class SlaDue:
    """A conversation's running due times; None where that clock is not running."""

    first_response: datetime | None
    next_response: datetime | None
    resolution: datetime | None

    @property
    def next_due(self) -> datetime | None:
        """The earliest running due time: the one the queue sorts by and the worker watches."""
        running = [due for due in (self.first_response, self.next_response, self.resolution) if due]
        return min(running) if running else None

    def state(self, now: datetime, warn_before: timedelta) -> SlaState:
        """Breached once a running due time is at or before `now`; warning from `warn_before` ahead.

        Both boundaries belong to the worse state (due == now is breached; due == now + warn_before
        is a warning), so a check at exactly the due time never reports it as still met.
        """
        due = self.next_due
        if due is None:
            return SlaState.OK
        if due <= now:
            return SlaState.BREACHED
        if due <= now + warn_before:
            return SlaState.WARNING
        return SlaState.OK


def pending_business_time(policy: SlaPolicy, pending_since: datetime, until: datetime) -> timedelta:
    """The business time a pending period paused the resolution clock (zero if it does not pause).

    The caller adds this to the conversation's accumulated pause when the period ends, so a policy
    that does not pause while pending simply accumulates nothing.
    """
    if not policy.pause_when_pending:
        return timedelta(0)
    return policy.calendar.business_time_between(pending_since, until)


def sla_due(
    policy: SlaPolicy,
    *,
    priority: int,
    platform: str,
    opened_at: datetime,
    waiting_since: datetime | None,
    answered_before: bool,
    paused: timedelta = timedelta(0),
    pending_since: datetime | None = None,
    resolved: bool = False,
    now: datetime,
) -> SlaDue:
    """The due times of a conversation under `policy` at `now`.

    First response: `first_response` business time after `waiting_since` while the brand has never
    answered; next response: `next_response` after `waiting_since` once it has; neither while the
    customer is not waiting. Resolution: `resolution` business time after `opened_at`, plus the
    business time spent pending (`paused`, accumulated by the caller, and the current period from
    `pending_since` to `now`), since the clock stops while the conversation waits on the customer;
    during a pending period this due time moves later as `now` does. None once resolved.
    """
    if paused < timedelta(0):
        raise InvalidInput(f"paused time cannot be negative, got {paused}", field="paused")
    target = policy.target_for(priority, platform)
    if target is None:
        return SlaDue(first_response=None, next_response=None, resolution=None)
    calendar = policy.calendar
    response = target.next_response if answered_before else target.first_response
    response_due = (
        calendar.add_business_time(waiting_since, response)
        if waiting_since is not None and response is not None
        else None
    )
    resolution_due = None
    if not resolved and target.resolution is not None:
        stopped = paused
        if pending_since is not None:
            stopped += pending_business_time(policy, pending_since, now)
        resolution_due = calendar.add_business_time(opened_at, target.resolution + stopped)
    return SlaDue(
        first_response=None if answered_before else response_due,
        next_response=response_due if answered_before else None,
        resolution=resolution_due,
    )
