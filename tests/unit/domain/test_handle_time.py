"""Handle time from the agents' activity: gaps since the same agent's last reply or note, breaks
left out, bursts floored, and a measurement trusted only from 50 replies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from socialdesk.domain.handle_time import (
    MIN_REPLIES,
    Activity,
    HandleSource,
    choose_handle_time,
    work_seconds,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class TestWorkSeconds:
    def test_each_reply_costs_the_time_since_that_agents_previous_activity(self) -> None:
        found = work_seconds(
            [
                Activity(1, at(0), counted=True),  # first: no known start
                Activity(1, at(4), counted=False),  # a note: marks work, not measured
                Activity(1, at(10), counted=True),  # 6 min after the note
                Activity(2, at(3), counted=True),  # another agent's first
                Activity(2, at(8), counted=True),  # 5 min
            ]
        )
        assert found == [300, 360]

    def test_the_order_given_does_not_matter(self) -> None:
        items = [Activity(1, at(m), counted=True) for m in (0, 7, 12)]
        assert work_seconds(reversed(items)) == work_seconds(items) == [300, 420]

    def test_a_reply_after_a_break_is_left_out_and_a_burst_counts_thirty_seconds(self) -> None:
        found = work_seconds(
            [
                Activity(1, at(0), counted=True),
                Activity(1, at(30), counted=True),  # exactly 30 min: still work
                Activity(1, at(61), counted=True),  # 31 min: a break
                Activity(1, at(61.1), counted=True),  # 6 s: a burst
            ]
        )
        assert found == [30, 1800]

    def test_activity_before_the_window_starts_only_the_clock(self) -> None:
        found = work_seconds([Activity(1, at(-5), counted=False), Activity(1, at(2), True)])
        assert found == [420]


class TestChoice:
    def test_enough_replies_give_their_median(self) -> None:
        measured = [200] * 25 + [400] * 25
        chosen = choose_handle_time(measured, given_seconds=None, fallback_seconds=360)
        assert chosen.source is HandleSource.MEASURED
        assert (chosen.seconds, chosen.replies_measured) == (300.0, MIN_REPLIES)

    def test_too_few_replies_fall_back_to_the_setting_but_say_what_was_measured(self) -> None:
        chosen = choose_handle_time([100, 200, 600], given_seconds=None, fallback_seconds=360)
        assert (chosen.source, chosen.seconds) == (HandleSource.SETTING, 360)
        assert (chosen.replies_measured, chosen.measured_seconds) == (3, 200.0)

    @pytest.mark.parametrize("measured", [[], [300] * 60])
    def test_a_typed_value_wins(self, measured: list[int]) -> None:
        chosen = choose_handle_time(measured, given_seconds=480, fallback_seconds=360)
        assert (chosen.source, chosen.seconds) == (HandleSource.GIVEN, 480)
        assert chosen.measured_seconds == (300.0 if measured else None)
