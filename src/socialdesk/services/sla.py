"""SLA policies and business-hours calendars: kept, applied to conversations, and watched.

Every conversation has an SLA: its own policy (set by the playbook), else its team's, else the
policy named `default` when there is one, else the desk's flat response targets around the clock.
A policy counts business time in its own calendar when it names one, else in the team's (the
team's calendar, else the calendar named `default`), else around the clock.
Intake and agent actions change a conversation's state at once with the flat targets (cheap, in
the write path); the worker then refreshes every changed conversation with its real policy
(business hours, holidays, pauses while pending) within seconds, and watches due times: a
conversation entering the warning window or breaching emits an event once, and the playbook's
rules on `sla_state` can escalate it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from socialdesk.domain.agents import Team
from socialdesk.domain.calendars import BusinessCalendar
from socialdesk.domain.conversations import Conversation, Status
from socialdesk.domain.errors import InvalidInput, NotFound
from socialdesk.domain.events import (
    Event,
    SlaBreached,
    SlaWarning,
    audit_values,
    settings_changed,
)
from socialdesk.domain.sla import (
    ResponseTargets,
    SlaPolicy,
    SlaState,
    SlaTarget,
    pending_business_time,
    sla_due,
)
from socialdesk.domain.sla_specs import CalendarSpec, SlaPolicySpec
from socialdesk.domain.text import text_problem
from socialdesk.services.ports import Holidays, UnitOfWork, UnitOfWorkFactory

DEFAULT_POLICY = "default"
WARN_DEFAULT = 15  # minutes: the desk's flat targets warn this long before a breach
DEFAULT_CALENDAR = "default"
BATCH = 200
MAX_NAME = 100


# -- keeping calendars and policies ------------------------------------------------------------


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or text_problem(name):
        raise InvalidInput(f"a name is 1-{MAX_NAME} printable characters", field="name")
    return name


def save_calendar(
    uow: UnitOfWork,
    holidays: Holidays,
    *,
    name: str,
    timezone: str,
    weekly: dict[str, Any],
    holiday_country: str | None,
    holiday_subdivision: str | None,
    extra_holidays: list[str],
    now: datetime,
    actor_id: int | None = None,
) -> CalendarSpec:
    """Create a calendar or replace the one of that name; it is built once here, so a wrong
    time zone, day or interval is refused with the reason before anything is stored."""
    name = _check_name(name)
    if holiday_subdivision and not holiday_country:
        raise InvalidInput(
            "a holiday_subdivision (state, province) needs its holiday_country",
            field="holiday_subdivision",
        )
    spec = CalendarSpec(
        name=name,
        timezone=timezone,
        weekly=weekly,
        created_at=now,
        updated_at=now,
        holiday_country=holiday_country.upper() if holiday_country else None,
        holiday_subdivision=holiday_subdivision,
        extra_holidays=list(extra_holidays),
    )
    build_calendar(spec, holidays, now)
    with uow:
        existing = uow.calendars.find(name)
        if existing is None:
            uow.calendars.add(spec)
        else:
            spec.id, spec.created_at = existing.id, existing.created_at
            uow.calendars.update(spec)
        uow.events.append([_changed("sla_calendar", existing, spec, actor_id, now)])
        uow.commit()
    return spec


def build_calendar(spec: CalendarSpec, holidays: Holidays, now: datetime) -> BusinessCalendar:
    """The calendar with its country's holidays from last year to two years ahead."""
    dates: frozenset[Any] = frozenset()
    if spec.holiday_country:
        years = range(now.year - 1, now.year + 3)
        dates = holidays(spec.holiday_country, years, spec.holiday_subdivision)
    return spec.build(dates)


def save_policy(
    uow: UnitOfWork,
    *,
    name: str,
    targets: list[dict[str, Any]],
    calendar: str | None,
    pause_when_pending: bool,
    warn_before_minutes: int,
    now: datetime,
    actor_id: int | None = None,
) -> SlaPolicySpec:
    name = _check_name(name)
    if not targets:
        raise InvalidInput("a policy needs at least one target", field="targets")
    if not 0 <= warn_before_minutes <= 60 * 24 * 7:
        raise InvalidInput("warn_before_minutes must be 0 to 10080", field="warn_before_minutes")
    spec = SlaPolicySpec(
        name=name,
        targets=targets,
        created_at=now,
        updated_at=now,
        pause_when_pending=pause_when_pending,
        warn_before_minutes=warn_before_minutes,
    )
    spec.build(None)  # validates the targets
    with uow:
        if calendar is not None:
            found = uow.calendars.find(calendar)
            if found is None:
                raise InvalidInput(f"there is no calendar named {calendar!r}", field="calendar")
            spec.calendar_id = found.id
        existing = uow.sla_policies.find(name)
        if existing is None:
            uow.sla_policies.add(spec)
        else:
            spec.id, spec.created_at = existing.id, existing.created_at
            uow.sla_policies.update(spec)
        uow.events.append([_changed("sla_policy", existing, spec, actor_id, now)])
        uow.commit()
    return spec


def _changed(
    subject: str,
    before: CalendarSpec | SlaPolicySpec | None,
    after: CalendarSpec | SlaPolicySpec,
    actor_id: int | None,
    now: datetime,
) -> Event:
    return settings_changed(
        now=now,
        actor_id=actor_id,
        subject=subject,
        subject_id=after.name,
        before=audit_values(before) if before else None,
        after=audit_values(after),
    )


# -- applying policies -----------------------------------------------------------------------


@dataclass
class PolicyBook:
    """Built policies, for one pass of the worker (calendars are built once per pass).

    A policy counts in its own calendar when it names one; otherwise in the business hours of
    the conversation's team (its calendar, else the one named `default`), so one policy serves
    teams in different time zones. Without any calendar it counts around the clock."""

    uow: UnitOfWork
    holidays: Holidays
    now: datetime
    fallback: SlaPolicy
    _built: dict[tuple[int | None, int | None], SlaPolicy] = field(default_factory=dict)
    _default_id: int | bool | None = False
    _default_calendar_id: int | bool | None = False
    _teams: dict[int, Team | None] = field(default_factory=dict)

    def _team(self, team_id: int | None) -> Team | None:
        if team_id is None:
            return None
        if team_id not in self._teams:
            self._teams[team_id] = self.uow.teams.get(team_id)
        return self._teams[team_id]

    def policy_id_for(self, conversation: Conversation) -> int | None:
        if conversation.sla_policy_id is not None:
            return conversation.sla_policy_id
        team = self._team(conversation.team_id)
        if team is not None and team.sla_policy_id is not None:
            return team.sla_policy_id
        return self.policy_id_for_default()

    def policy_id_for_default(self) -> int | None:
        """The policy named `default`, when there is one."""
        if self._default_id is False:
            found = self.uow.sla_policies.find(DEFAULT_POLICY)
            self._default_id = found.id if found else None
        return self._default_id if isinstance(self._default_id, int) else None

    def calendar_id_for(self, team_id: int | None) -> int | None:
        """The team's calendar, else the one named `default`, else None (around the clock)."""
        team = self._team(team_id)
        if team is not None and team.calendar_id is not None:
            return team.calendar_id
        if self._default_calendar_id is False:
            found = self.uow.calendars.find(DEFAULT_CALENDAR)
            self._default_calendar_id = found.id if found else None
        return self._default_calendar_id if isinstance(self._default_calendar_id, int) else None

    def get(self, policy_id: int | None, team_id: int | None = None) -> SlaPolicy:
        """The policy built on its calendar (or, naming none, on the team's hours)."""
        spec = self.uow.sla_policies.get(policy_id) if policy_id is not None else None
        if spec is None:
            return self.fallback
        calendar_id = spec.calendar_id
        if calendar_id is None:
            calendar_id = self.calendar_id_for(team_id)
        key = (policy_id, calendar_id)
        if key not in self._built:
            calendar = None
            if calendar_id is not None:
                calendar_spec = self.uow.calendars.get(calendar_id)
                if calendar_spec is not None:
                    calendar = build_calendar(calendar_spec, self.holidays, self.now)
            self._built[key] = spec.build(calendar)
        return self._built[key]

    def for_conversation(self, conversation: Conversation) -> SlaPolicy:
        return self.get(self.policy_id_for(conversation), conversation.team_id)


def flat_policy(targets: ResponseTargets) -> SlaPolicy:
    """The desk's own targets (SOCIALDESK_FIRST/NEXT_RESPONSE_MINUTES), around the clock."""
    return SlaPolicy(
        name="desk targets",
        targets=(
            SlaTarget(first_response=targets.first_response, next_response=targets.next_response),
        ),
        calendar=BusinessCalendar.always_open(),
    )


def refresh(conversation: Conversation, policy: SlaPolicy, now: datetime) -> SlaState | None:
    """Due times and state from the policy: pending periods that ended are turned into business
    time first (the pause), the one still running is counted up to now. Returns the new state
    (None for a closed conversation)."""
    for start, end in conversation.pending_periods:
        paused = pending_business_time(
            policy, datetime.fromisoformat(start), datetime.fromisoformat(end)
        )
        conversation.sla_paused_seconds += int(paused.total_seconds())
    conversation.pending_periods = []
    pending = conversation.status is Status.PENDING
    due = sla_due(
        policy,
        priority=conversation.priority,
        platform=conversation.platform,
        opened_at=conversation.created_at,
        waiting_since=conversation.waiting_since,
        answered_before=conversation.first_response_at is not None,
        paused=timedelta(seconds=conversation.sla_paused_seconds),
        pending_since=conversation.pending_since if pending else None,
        resolved=conversation.status is Status.CLOSED,
        now=now,
    )
    conversation.first_response_due_at = due.first_response
    conversation.next_response_due_at = due.next_response
    conversation.resolution_due_at = due.resolution
    conversation.sla_due_at = due.next_due
    # Stamped with the change it was computed from, not with the clock: a change that was
    # waiting on this row's lock, written a moment after, is then still seen as newer.
    conversation.sla_refreshed_at = conversation.updated_at or now
    if conversation.status is Status.CLOSED:
        conversation.sla_state = None
        return None
    state = due.state(now, policy.warn_before)
    conversation.sla_state = state.value
    return state


@dataclass(slots=True)
class SlaReport:
    refreshed: int = 0
    warnings: int = 0
    breaches: int = 0
    changed: list[int] = field(default_factory=list)  # conversations that entered warning/breach


def sweep(
    uow: UnitOfWorkFactory,
    holidays: Holidays,
    *,
    targets: ResponseTargets,
    now: datetime,
    on_change: Callable[[UnitOfWork, Conversation, SlaState, datetime], object] | None = None,
    limit: int = BATCH,
) -> SlaReport:
    """One pass: refresh conversations changed since their SLA was computed, then watch those
    whose due time comes within the longest warning window of any policy. Only conversations
    that changed or moved state are written. A conversation moving into warning or breach emits
    SlaWarning / SlaBreached once and is handed to `on_change` (the playbook's escalations) in
    the same transaction."""
    report = SlaReport()
    with uow() as unit:
        book = PolicyBook(unit, holidays, now, flat_policy(targets))
        seen: set[int] = set()
        stale = unit.conversations.sla_stale(limit)
        stale_ids = {c.id for c in stale}
        window = timedelta(minutes=max(unit.sla_policies.longest_warning(), WARN_DEFAULT))
        candidates = stale + unit.conversations.sla_due_before(now + window, limit)
        events: list[Event] = []
        changed: list[Conversation] = []
        for conversation in candidates:
            assert conversation.id is not None
            if conversation.id in seen:
                continue
            seen.add(conversation.id)
            before = conversation.sla_state
            state = refresh(conversation, book.for_conversation(conversation), now)
            moved = state is not None and state.value != before
            if conversation.id in stale_ids or moved:
                report.refreshed += 1
                changed.append(conversation)
            if state is None or not moved or state is SlaState.OK:
                continue
            due = conversation.sla_due_at
            if state is SlaState.WARNING:
                report.warnings += 1
                events.append(
                    SlaWarning(occurred_at=now, conversation_id=conversation.id, due_at=due)
                )
            else:
                report.breaches += 1
                events.append(
                    SlaBreached(occurred_at=now, conversation_id=conversation.id, due_at=due)
                )
            report.changed.append(conversation.id)
            if on_change is not None:
                on_change(unit, conversation, state, now)
        unit.conversations.update_many(changed)
        unit.events.append(events)
        unit.commit()
    return report


def apply_policy(
    unit: UnitOfWork, conversation: Conversation, name: str, holidays: Holidays, now: datetime
) -> None:
    """Put a conversation under a named policy (a playbook action) and compute its due times,
    inside the caller's unit of work."""
    spec = unit.sla_policies.find(name)
    if spec is None:
        raise NotFound(f"there is no SLA policy named {name!r}")
    conversation.sla_policy_id = spec.id
    book = PolicyBook(unit, holidays, now, spec.build(None))
    refresh(conversation, book.for_conversation(conversation), now)


def check_policy_names(unit: UnitOfWork, names: set[str]) -> set[str]:
    """Which of these policy names do not exist."""
    return {n for n in names if unit.sla_policies.find(n) is None}
