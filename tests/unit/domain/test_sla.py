"""SLA policies on business calendars: which target applies, the due times, pauses and states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialdesk.domain.calendars import BusinessCalendar
from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.sla import (
    ResponseTargets,
    SlaDue,
    SlaPolicy,
    SlaState,
    SlaTarget,
    pending_business_time,
    sla_due,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar.from_spec("office", "Europe/Berlin", {"mon-fri": "08:00-18:00"})

DEFAULT = SlaTarget(first_response=4 * H, next_response=8 * H, resolution=24 * H)
URGENT = SlaTarget(first_response=H, next_response=2 * H, resolution=8 * H, priority_min=3)
CHAT = SlaTarget(first_response=5 * M, next_response=10 * M, priority_min=0, platform="chat")
CHAT_URGENT = SlaTarget(first_response=2 * M, priority_min=5, platform="chat")
POLICY = SlaPolicy("standard", (DEFAULT, URGENT, CHAT, CHAT_URGENT), OFFICE)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Berlin wall-clock time as the UTC instant the SLA functions take."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


MONDAY_9 = berlin(2026, 3, 2, 9)


def due(policy: SlaPolicy = POLICY, **overrides: object) -> SlaDue:
    facts: dict[str, object] = {
        "priority": 1,
        "platform": "email",
        "opened_at": MONDAY_9,
        "waiting_since": MONDAY_9,
        "answered_before": False,
        "now": MONDAY_9,
    }
    facts.update(overrides)
    return sla_due(policy, **facts)  # type: ignore[arg-type]


class TestTargetSelection:
    @pytest.mark.parametrize(
        ("priority", "platform", "expected"),
        [
            (0, "email", DEFAULT),
            (2, "email", DEFAULT),
            (3, "email", URGENT),
            (9, "x", URGENT),
            (0, "chat", CHAT),
            (4, "chat", CHAT),  # the platform's own target beats a higher priority for any platform
            (5, "chat", CHAT_URGENT),
        ],
    )
    def test_most_specific_target_wins(
        self, priority: int, platform: str, expected: SlaTarget
    ) -> None:
        assert POLICY.target_for(priority, platform) == expected

    def test_order_of_targets_does_not_matter(self) -> None:
        reversed_policy = SlaPolicy("r", tuple(reversed(POLICY.targets)), OFFICE)
        for priority in range(7):
            for platform in ("email", "chat", "x"):
                assert reversed_policy.target_for(priority, platform) == POLICY.target_for(
                    priority, platform
                )

    def test_no_target_applies(self) -> None:
        policy = SlaPolicy("vip only", (URGENT, CHAT), OFFICE)
        assert policy.target_for(1, "email") is None
        assert due(policy) == SlaDue(None, None, None)

    def test_ambiguous_or_negative_targets_are_refused(self) -> None:
        with pytest.raises(InvalidInput, match="two targets for priority >= 3 on any platform"):
            SlaPolicy("dup", (URGENT, SlaTarget(first_response=H, priority_min=3)), OFFICE)
        with pytest.raises(InvalidInput, match="cannot be negative"):
            SlaTarget(first_response=-M)
        with pytest.raises(InvalidInput, match="warn_before"):
            SlaPolicy("w", (DEFAULT,), OFFICE, warn_before=-M)


class TestDueTimes:
    def test_first_response_counts_business_hours(self) -> None:
        friday_evening = berlin(2026, 3, 6, 17, 30)
        result = due(priority=3, waiting_since=friday_evening, now=friday_evening)
        assert result.first_response == berlin(2026, 3, 9, 8, 30)
        assert result.next_response is None

    def test_next_response_once_the_brand_has_answered(self) -> None:
        result = due(answered_before=True, waiting_since=berlin(2026, 3, 2, 14))
        assert result.next_response == berlin(2026, 3, 3, 12)  # 4 h Monday, 4 h Tuesday
        assert result.first_response is None

    def test_no_response_due_while_not_waiting(self) -> None:
        result = due(waiting_since=None)
        assert result.first_response is None
        assert result.next_response is None
        assert result.resolution is not None

    def test_a_target_without_that_promise(self) -> None:
        result = due(platform="chat", answered_before=False)
        assert result.first_response == MONDAY_9 + 5 * M
        assert result.resolution is None  # the chat target promises no resolution time

    def test_resolution_counts_from_opening(self) -> None:
        # Monday 09:00 + 24 business hours: 9 on Monday, 10 on Tuesday, 5 on Wednesday.
        assert due(waiting_since=None).resolution == berlin(2026, 3, 4, 13)

    def test_resolution_is_pushed_by_accumulated_pause(self) -> None:
        assert due(waiting_since=None, paused=2 * H).resolution == berlin(2026, 3, 4, 15)

    def test_resolution_is_pushed_by_the_current_pending_period(self) -> None:
        # Pending from Tuesday 17:00 to Wednesday 09:00 is two business hours.
        result = due(
            waiting_since=None,
            paused=H,
            pending_since=berlin(2026, 3, 3, 17),
            now=berlin(2026, 3, 4, 9),
        )
        assert result.resolution == berlin(2026, 3, 4, 16)

    def test_pending_that_starts_later_than_now_pauses_nothing(self) -> None:
        result = due(waiting_since=None, pending_since=MONDAY_9 + H, now=MONDAY_9)
        assert result.resolution == berlin(2026, 3, 4, 13)

    def test_policy_that_does_not_pause_ignores_pending(self) -> None:
        policy = SlaPolicy("no pause", (DEFAULT,), OFFICE, pause_when_pending=False)
        since, until = berlin(2026, 3, 3, 10), berlin(2026, 3, 3, 12)
        assert pending_business_time(policy, since, until) == timedelta(0)
        assert pending_business_time(POLICY, since, until) == 2 * H
        result = due(policy, waiting_since=None, pending_since=since, now=until)
        assert result.resolution == berlin(2026, 3, 4, 13)

    def test_pending_business_time_skips_closed_hours(self) -> None:
        friday = berlin(2026, 3, 6, 17)
        assert pending_business_time(POLICY, friday, berlin(2026, 3, 9, 9)) == 2 * H

    def test_resolved_has_no_resolution_due(self) -> None:
        assert due(resolved=True, waiting_since=None) == SlaDue(None, None, None)

    def test_pending_stops_a_breach_of_resolution(self) -> None:
        # An 8-hour resolution target; the conversation waits on the customer from 10:00.
        opened = MONDAY_9
        pending = opened + H
        for now in (opened + 7 * H, berlin(2026, 3, 3, 17)):
            result = due(priority=3, waiting_since=None, pending_since=pending, now=now)
            assert result.resolution is not None
            assert result.resolution > now
            assert OFFICE.business_time_between(opened, result.resolution) == 8 * H + (
                OFFICE.business_time_between(pending, now)
            )

    def test_naive_now_is_a_programming_error(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            due(pending_since=MONDAY_9, now=datetime(2026, 3, 2, 12))  # noqa: DTZ001

    def test_response_targets_are_unchanged(self) -> None:
        targets = ResponseTargets(first_response=H, next_response=2 * H)
        assert targets.due(MONDAY_9, answered_before=False) == MONDAY_9 + H
        assert targets.due(MONDAY_9, answered_before=True) == MONDAY_9 + 2 * H
        assert targets.due(None, answered_before=True) is None


class TestState:
    NOW = berlin(2026, 3, 2, 12)
    WARN = timedelta(minutes=15)

    def test_next_due_is_the_earliest_running(self) -> None:
        a, b = self.NOW + H, self.NOW + 2 * H
        assert SlaDue(None, b, a).next_due == a
        assert SlaDue(b, None, None).next_due == b
        assert SlaDue(None, None, None).next_due is None

    @pytest.mark.parametrize(
        ("offset", "expected"),
        [
            (-H, SlaState.BREACHED),
            (timedelta(0), SlaState.BREACHED),  # due at exactly now: the promise is broken
            (timedelta(microseconds=1), SlaState.WARNING),
            (timedelta(minutes=15), SlaState.WARNING),  # exactly warn_before ahead
            (timedelta(minutes=15, microseconds=1), SlaState.OK),
            (H, SlaState.OK),
        ],
    )
    def test_state_boundaries(self, offset: timedelta, expected: SlaState) -> None:
        assert SlaDue(self.NOW + offset, None, None).state(self.NOW, self.WARN) == expected
        assert SlaDue(None, None, self.NOW + offset).state(self.NOW, self.WARN) == expected

    def test_the_earliest_due_time_decides(self) -> None:
        result = SlaDue(None, self.NOW + H, self.NOW - M)
        assert result.state(self.NOW, self.WARN) == SlaState.BREACHED

    def test_nothing_running_is_ok(self) -> None:
        assert SlaDue(None, None, None).state(self.NOW, self.WARN) == SlaState.OK
        assert str(SlaState.WARNING) == "warning"  # stored and sent as plain text


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5 * 24 * 60), st.integers(0, 3 * 24 * 60)), max_size=4),
    st.integers(0, 3 * 24 * 60),
)
def test_resolution_runs_only_outside_pending_periods(
    periods: list[tuple[int, int]], ongoing: int
) -> None:
    """Past pending periods, summed by the caller, plus the current one, stop the clock exactly."""
    opened = berlin(2026, 3, 2, 10, 17)
    paused = timedelta(0)
    cursor = opened
    for gap, length in periods:
        since = cursor + gap * M
        cursor = since + length * M
        paused += pending_business_time(POLICY, since, cursor)
    pending_since = cursor + M
    now = pending_since + ongoing * M
    result = due(
        waiting_since=None, opened_at=opened, paused=paused, pending_since=pending_since, now=now
    )
    assert result.resolution is not None
    assert DEFAULT.resolution is not None
    stopped = paused + OFFICE.business_time_between(pending_since, now)
    assert OFFICE.business_time_between(opened, result.resolution) == DEFAULT.resolution + stopped
