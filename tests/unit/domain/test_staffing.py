"""Staffing: the hour-of-week forecast, Erlang C and the plan with concurrency and shrinkage."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.staffing import (
    ErlangResult,
    ForecastHour,
    HourlyVolume,
    agents_needed,
    erlang_c,
    forecast,
    service_level,
    staffing_plan,
)

H = timedelta(hours=1)
W = timedelta(weeks=1)
LONDON = ZoneInfo("Europe/London")


def closed_form_c(traffic: float, agents: int) -> float:
    """Erlang C from its textbook formula, independent of the module's recursion (small N only)."""
    waiting = traffic**agents / math.factorial(agents) * agents / (agents - traffic)
    return waiting / (sum(traffic**k / math.factorial(k) for k in range(agents)) + waiting)


def log_space_c(traffic: float, agents: int) -> float:
    """The same formula in logarithms (lgamma, log-sum-exp), for traffic where A**N overflows."""
    terms = [k * math.log(traffic) - math.lgamma(k + 1) for k in range(agents)]
    last = (
        agents * math.log(traffic) - math.lgamma(agents + 1) + math.log(agents / (agents - traffic))
    )
    top = max([*terms, last])
    total = sum(math.exp(t - top) for t in terms) + math.exp(last - top)
    return math.exp(last - top) / total


def pattern(key: int) -> int:
    """A different count for every local hour of the week (Monday 00:00 is key 0)."""
    return key + 1


def local_key(at: datetime, zone: ZoneInfo) -> int:
    local = at.astimezone(zone)
    return local.weekday() * 24 + local.hour


def series(start: datetime, end: datetime, zone: ZoneInfo) -> list[HourlyVolume]:
    hours = int((end - start) / H)
    return [
        HourlyVolume(start + i * H, pattern(local_key(start + i * H, zone))) for i in range(hours)
    ]


class TestErlangC:
    def test_textbook_example(self) -> None:
        # 100 calls in 30 minutes with 180 s handle time: 200 an hour, A = 10 erlangs.
        assert erlang_c(10, 13) == pytest.approx(closed_form_c(10, 13), rel=1e-12)
        assert erlang_c(10, 13) == pytest.approx(0.2853, abs=1e-4)
        assert service_level(200, 180, 13, 20) == pytest.approx(0.7956, abs=1e-4)
        # 13 agents miss 80 % within 20 s; 14 reach 88.8 % with an ASA of about 7.8 s.
        needed = agents_needed(200, 180, 0.8, 20)
        assert needed.agents == 14
        assert needed.service_level == pytest.approx(0.8884, abs=1e-4)
        assert needed.occupancy == pytest.approx(10 / 14)
        assert needed.asa_seconds == pytest.approx(closed_form_c(10, 14) * 180 / 4)

    @pytest.mark.parametrize("traffic", [0.3, 1.0, 2.5, 7.9, 15.0])
    def test_recursion_matches_closed_form(self, traffic: float) -> None:
        for agents in range(math.floor(traffic) + 1, 40):
            assert erlang_c(traffic, agents) == pytest.approx(closed_form_c(traffic, agents))

    def test_large_traffic_does_not_overflow(self) -> None:
        with pytest.raises(OverflowError):
            closed_form_c(500.0, 530)
        assert erlang_c(500, 530) == pytest.approx(log_space_c(500, 530), rel=1e-9)
        needed = agents_needed(500 * 3600 / 300, 300, 0.9, 20)  # A = 500 erlangs
        assert 500 < needed.agents < 560
        assert needed.service_level >= 0.9
        assert service_level(6000, 300, needed.agents - 1, 20) < 0.9

    def test_unstable_and_idle_queues(self) -> None:
        assert erlang_c(10, 10) == 1.0
        assert erlang_c(10, 3) == 1.0
        assert erlang_c(0, 1) == 0.0
        assert service_level(200, 180, 10, 60) == 0.0
        assert service_level(0, 180, 1, 60) == 1.0

    def test_service_level_formula(self) -> None:
        c = closed_form_c(10, 12)
        assert service_level(200, 180, 12, 45) == pytest.approx(1 - c * math.exp(-2 * 45 / 180))


class TestAgentsNeeded:
    def test_fewest_agents_meeting_the_target(self) -> None:
        for rate in (1, 5, 30, 120, 400):
            needed = agents_needed(rate, 600, 0.9, 300)
            traffic = rate * 600 / 3600
            assert needed.agents > traffic
            assert needed.service_level >= 0.9
            fewer = needed.agents - 1
            assert fewer <= traffic or service_level(rate, 600, fewer, 300) < 0.9

    def test_monotonic_in_volume(self) -> None:
        agents = [agents_needed(rate, 900, 0.9, 3600).agents for rate in range(0, 500, 7)]
        assert agents == sorted(agents)
        assert agents[0] == 0
        assert agents[-1] > agents[1]

    def test_zero_volume_needs_nobody(self) -> None:
        assert agents_needed(0, 300, 0.9, 60) == ErlangResult(0, 1.0, 0.0, 0.0)

    def test_stricter_target_needs_more(self) -> None:
        loose = agents_needed(60, 600, 0.8, 3600).agents
        assert agents_needed(60, 600, 0.99, 60).agents > loose


def hours(*volumes: float) -> list[ForecastHour]:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    return [ForecastHour(start + i * H, v, v, v, 4) for i, v in enumerate(volumes)]


class TestStaffingPlan:
    def test_one_conversation_at_a_time_is_plain_erlang_c(self) -> None:
        [hour] = staffing_plan(hours(40), handle_seconds=600, concurrency=1, shrinkage=0)
        needed = agents_needed(40, 600, 0.9, 3600)
        assert hour.agents == hour.agents_scheduled == needed.agents
        assert hour.traffic_erlangs == pytest.approx(40 * 600 / 3600)
        assert (hour.service_level, hour.occupancy, hour.asa_seconds) == (
            needed.service_level,
            needed.occupancy,
            needed.asa_seconds,
        )

    def test_concurrency_counts_slots(self) -> None:
        [hour] = staffing_plan(
            hours(200), handle_seconds=900, concurrency=3, target_share=0.9, target_seconds=300
        )
        slots = agents_needed(200, 900, 0.9, 300).agents
        assert hour.agents == math.ceil(slots / 3)
        staffed = hour.agents * 3
        assert hour.service_level == pytest.approx(service_level(200, 900, staffed, 300))
        assert hour.service_level >= 0.9
        assert hour.occupancy == pytest.approx(hour.traffic_erlangs / staffed)
        c = closed_form_c(hour.traffic_erlangs, staffed)
        assert hour.asa_seconds == pytest.approx(c * 900 / (staffed - hour.traffic_erlangs))

    def test_full_parallel_slowdown_gains_nothing(self) -> None:
        [hour] = staffing_plan(hours(30), handle_seconds=600, concurrency=3, parallel_slowdown=1)
        slots = agents_needed(30, 1800, 0.9, 3600).agents
        assert hour.agents == math.ceil(slots / 3)
        assert hour.traffic_erlangs == pytest.approx(30 * 1800 / 3600)

    def test_shrinkage_schedules_more_agents(self) -> None:
        [none] = staffing_plan(hours(20), handle_seconds=600, target_seconds=60, shrinkage=0)
        assert none.agents == none.agents_scheduled == 7
        [hour] = staffing_plan(hours(20), handle_seconds=600, target_seconds=60)  # default 0.3
        assert hour.agents == 7
        assert hour.agents_scheduled == 10  # ceil(7 / 0.7)
        [hour] = staffing_plan(hours(20), handle_seconds=600, target_seconds=60, shrinkage=0.35)
        assert hour.agents_scheduled == 11  # ceil(10.77)

    def test_float_noise_adds_no_agent(self) -> None:
        [hour] = staffing_plan(hours(1), handle_seconds=600, shrinkage=0.9)
        assert hour.agents == 1
        assert hour.agents_scheduled == 10  # 1 / (1 - 0.9) is 10.000000000000002 in floats

    def test_zero_volume_hours_need_nobody(self) -> None:
        plan = staffing_plan(hours(0, 12, 0), handle_seconds=600, concurrency=2)
        assert [h.agents for h in plan] == [0, plan[1].agents, 0]
        assert plan[1].agents >= 1
        assert (plan[0].agents_scheduled, plan[0].service_level, plan[0].occupancy) == (0, 1.0, 0.0)
        assert [h.hour_start for h in plan] == [h.hour_start for h in hours(0, 12, 0)]

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"target_share": 0}, "target_share"),
            ({"target_share": 1}, "target_share"),
            ({"target_share": float("nan")}, "target_share"),
            ({"target_seconds": 0}, "target_seconds"),
            ({"handle_seconds": 0}, "handle_seconds"),
            ({"handle_seconds": -5}, "handle_seconds"),
            ({"concurrency": 0}, "concurrency"),
            ({"shrinkage": 1}, "shrinkage"),
            ({"shrinkage": -0.1}, "shrinkage"),
            ({"parallel_slowdown": 1.5}, "parallel_slowdown"),
        ],
    )
    def test_invalid_settings(self, overrides: dict[str, float], field: str) -> None:
        settings: dict[str, float] = {"handle_seconds": 600, **overrides}
        with pytest.raises(InvalidInput) as caught:
            staffing_plan([], **settings)  # type: ignore[arg-type]
        assert caught.value.field == field

    def test_invalid_queue_inputs(self) -> None:
        with pytest.raises(InvalidInput, match="at least 1"):
            erlang_c(5, 0)
        with pytest.raises(InvalidInput, match="traffic"):
            erlang_c(-1, 3)
        with pytest.raises(InvalidInput, match="arrivals per hour"):
            agents_needed(-1, 600, 0.9, 60)
        with pytest.raises(InvalidInput, match="handle time"):
            service_level(10, 0, 3, 60)


MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # Monday 00:00 in London (GMT) and in UTC


class TestForecast:
    def test_returns_a_known_weekly_pattern(self) -> None:
        end = MONDAY + 4 * W
        result = forecast(
            series(MONDAY, end, LONDON),
            end,
            2,
            "Europe/London",
            history_start=MONDAY,
            history_end=end,
        )
        assert len(result) == 2 * 168
        assert [h.hour_start for h in result] == [end + i * H for i in range(2 * 168)]
        for hour in result:
            assert hour.expected == pattern(local_key(hour.hour_start, LONDON))
            assert hour.basis_weeks == 4
            spread = 1.2815515655446004 * math.sqrt(hour.expected)  # no week-to-week variation
            assert hour.low == pytest.approx(max(0.0, hour.expected - spread))
            assert hour.high == pytest.approx(hour.expected + spread)

    def test_recent_weeks_weigh_more(self) -> None:
        end = MONDAY + 2 * W
        history = [HourlyVolume(MONDAY + i * H, 10 if i < 168 else 20) for i in range(336)]
        [hour, *_] = forecast(
            history, end, 1, "UTC", history_start=MONDAY, history_end=end, decay=0.5
        )
        assert hour.expected == pytest.approx((20 * 1 + 10 * 0.5) / 1.5)
        sd = math.sqrt((1 * (20 - hour.expected) ** 2 + 0.5 * (10 - hour.expected) ** 2) / 1.5)
        assert hour.high == pytest.approx(hour.expected + 1.2815515655446004 * sd)

    def test_only_the_lookback_weeks_count(self) -> None:
        end = MONDAY + 3 * W
        history = [HourlyVolume(MONDAY + i * H, 1000 if i < 168 else 5) for i in range(3 * 168)]
        result = forecast(
            history, end, 1, "UTC", history_start=MONDAY, history_end=end, lookback_weeks=2
        )
        assert {h.expected for h in result} == {5}
        assert {h.basis_weeks for h in result} == {2}

    def test_missing_hours_are_zero(self) -> None:
        end = MONDAY + 2 * W
        history = [HourlyVolume(MONDAY + W + 9 * H, 8)]  # one busy Monday 09:00, else silence
        result = forecast(history, end, 1, "UTC", history_start=MONDAY, history_end=end, decay=1)
        assert result[9].expected == 4
        assert result[10].expected == 0
        assert result[10].low == result[10].high == 0

    def test_spring_forward_keeps_local_hour_of_week(self) -> None:
        # History in GMT; the forecast week holds Sunday 29 March 2026, when London moves to BST.
        start = datetime(2026, 2, 23, tzinfo=UTC)
        end = datetime(2026, 3, 23, tzinfo=UTC)
        result = forecast(
            series(start, end, LONDON),
            end,
            1,
            "Europe/London",
            history_start=start,
            history_end=end,
        )
        after = [h for h in result if h.hour_start >= datetime(2026, 3, 29, 1, tzinfo=UTC)]
        assert after  # the part of the week in BST
        for hour in result:
            assert hour.expected == pattern(local_key(hour.hour_start, LONDON))
        # Sunday 02:00 BST is 01:00 UTC: it gets Sunday 02:00's volume, not Sunday 01:00's.
        assert after[0].expected == pattern(6 * 24 + 2)

    def test_history_across_the_change_and_fall_back(self) -> None:
        # History spans the March change; the forecast spans the October one (01:00 shows twice).
        start = datetime(2026, 3, 16, tzinfo=UTC)
        end = datetime(2026, 4, 13, tzinfo=UTC)
        history = series(start, end, LONDON)
        october = datetime(2026, 10, 19, tzinfo=UTC)
        result = forecast(
            history, october, 1, "Europe/London", history_start=start, history_end=end
        )
        for hour in result:
            assert hour.expected == pattern(local_key(hour.hour_start, LONDON))
        repeated = [h for h in result if local_key(h.hour_start, LONDON) == 6 * 24 + 1]
        assert len(repeated) == 2

    def test_short_history_borrows_the_same_local_hour(self) -> None:
        end = MONDAY + timedelta(days=2)  # Monday and Tuesday only
        history = [HourlyVolume(MONDAY + i * H, 10 if i < 24 else 20) for i in range(48)]
        result = forecast(history, end, 1, "UTC", history_start=MONDAY, history_end=end)
        by_day = [result[d * 24 : (d + 1) * 24] for d in range(7)]  # Wednesday first
        assert all(h.basis_weeks == 0 for day in by_day[:5] for h in day)
        assert all(h.basis_weeks == 1 for day in by_day[5:] for h in day)
        assert by_day[5][0].expected == 10  # Monday
        assert by_day[6][0].expected == 20  # Tuesday
        assert by_day[0][0].expected == pytest.approx(15)  # Wednesday: Monday's and Tuesday's mean

    def test_a_few_hours_of_history_lend_their_level_to_all(self) -> None:
        history = [HourlyVolume(MONDAY + 9 * H, 6), HourlyVolume(MONDAY + 10 * H, 2)]
        end = MONDAY + 11 * H
        result = forecast(history, end, 1, "UTC", history_start=MONDAY + 9 * H, history_end=end)
        assert result[0].hour_start == end
        assert result[(24 + 9) - 11].expected == 6  # Tuesday 09:00 borrows Monday 09:00
        assert result[0].expected == pytest.approx(4)  # 11:00 was never seen: mean of all

    def test_empty_history_forecasts_zero(self) -> None:
        result = forecast([], MONDAY, 1, "UTC", history_start=MONDAY, history_end=MONDAY)
        assert len(result) == 168
        assert {(h.expected, h.low, h.high, h.basis_weeks) for h in result} == {(0, 0, 0, 0)}
        plan = staffing_plan(result, handle_seconds=600)
        assert {h.agents_scheduled for h in plan} == {0}

    def test_window_without_messages_is_a_quiet_week(self) -> None:
        end = MONDAY + W
        result = forecast([], end, 1, "UTC", history_start=MONDAY, history_end=end)
        assert {(h.expected, h.basis_weeks) for h in result} == {(0, 1)}

    @pytest.mark.parametrize(
        ("history", "kwargs", "message"),
        [
            ([HourlyVolume(MONDAY - H, 1)], {}, "outside the window"),
            ([HourlyVolume(MONDAY, 1), HourlyVolume(MONDAY, 2)], {}, "twice"),
            ([HourlyVolume(MONDAY, -1)], {}, "negative"),
            ([HourlyVolume(MONDAY.replace(tzinfo=None), 1)], {}, "timezone-aware"),
            ([HourlyVolume(MONDAY + timedelta(minutes=30), 1)], {}, "on the hour"),
            ([], {"tz": "Mars/Olympus"}, "unknown time zone"),
            ([], {"weeks": 0}, "weeks must be at least 1"),
            ([], {"lookback_weeks": 0}, "lookback_weeks"),
            ([], {"decay": 0}, "decay"),
            ([], {"history_end": MONDAY - H}, "before history_start"),
            ([], {"start": MONDAY + timedelta(seconds=1)}, "on the hour"),
        ],
    )
    def test_invalid_inputs(
        self, history: list[HourlyVolume], kwargs: dict[str, object], message: str
    ) -> None:
        args: dict[str, object] = {
            "start": MONDAY + W,
            "weeks": 1,
            "tz": "Europe/London",
            "history_start": MONDAY,
            "history_end": MONDAY + W,
            **kwargs,
        }
        with pytest.raises(InvalidInput, match=message):
            forecast(history, **args)  # type: ignore[arg-type]
