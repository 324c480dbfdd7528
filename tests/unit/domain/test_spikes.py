"""Spike detection on hourly counts, and alerts that open once per spike and close after it."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.spikes import (
    AlertDecision,
    HourBucket,
    SpikeCheck,
    SpikeKind,
    SpikeSettings,
    SpikeState,
    check_spike,
    next_state,
)

H = timedelta(hours=1)
WEEK = 168
TZ = "Europe/Berlin"
BERLIN = ZoneInfo(TZ)
# A Monday midnight in Berlin; the six weeks after it have no daylight saving change, so hour i of
# the series is local hour i % 24 of day i // 24.
START = datetime(2026, 1, 5, tzinfo=BERLIN).astimezone(UTC)


def rate(hour: datetime) -> float:
    """Posts expected per hour: a daily wave peaking at 14:00 local, half on weekends."""
    local = hour.astimezone(BERLIN)
    daily = 4 + 36 * math.exp(-(((local.hour - 14) / 4) ** 2))
    return daily * (0.5 if local.weekday() >= 5 else 1.0)


def poisson(rng: random.Random, lam: float) -> int:
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def series(
    *,
    weeks: int = 6,
    seed: int = 7,
    louder: Iterable[int] = (),
    angrier: Iterable[int] = (),
) -> list[HourBucket]:
    """Hourly buckets from START; hours in `louder` have 4x the volume, in `angrier` 70% negative
    posts instead of 20%."""
    rng, louder, angrier = random.Random(seed), set(louder), set(angrier)
    buckets = []
    for i in range(weeks * WEEK):
        hour = START + i * H
        count = poisson(rng, rate(hour) * (4 if i in louder else 1))
        share = 0.7 if i in angrier else 0.2
        buckets.append(HourBucket(hour, count, sum(rng.random() < share for _ in range(count))))
    return buckets


def replay(
    buckets: list[HourBucket], first: int, since: datetime | None = None
) -> list[tuple[SpikeCheck, AlertDecision]]:
    """Check every hour from index `first` once it is complete, as the worker would."""
    state: SpikeState | None = None
    log = []
    for i in range(first, len(buckets)):
        now = buckets[i].hour_start + H
        check = check_spike(buckets[:i], buckets[i], now=now, tz=TZ, since=since)
        state, decision = next_state(state, check, now)
        log.append((check, decision))
    return log


def at(week: int, day: int, hour: int) -> int:
    """Index of a local hour: week 0 is the first, day 0 a Monday."""
    return week * WEEK + day * 24 + hour


LAST_TWO_WEEKS = at(4, 0, 0)


class TestSeasonalSeries:
    @pytest.mark.parametrize("seed", [7, 11, 2026])
    def test_no_false_alert_at_any_hour_of_the_last_two_weeks(self, seed: int) -> None:
        log = replay(series(seed=seed), LAST_TWO_WEEKS)
        assert len(log) == 2 * WEEK
        assert [c.hour_start for c, _ in log if c.spiking] == []
        assert {d for _, d in log} == {AlertDecision.NONE}

    def test_expected_follows_the_week(self) -> None:
        log = replay(series(), LAST_TWO_WEEKS)
        by_local = {(c.local_hour.weekday(), c.local_hour.hour): c.expected for c, _ in log}
        assert 30 <= by_local[(1, 14)] <= 50  # Tuesday 14:00
        assert by_local[(1, 3)] <= 8  # Tuesday 03:00
        assert by_local[(6, 14)] <= 25  # Sunday 14:00

    def test_injected_spikes_alert_once_each_and_close_after_recovery(self) -> None:
        loud = at(4, 1, 14)  # Tuesday 14:00-16:59 of week 5: four times the volume
        angry = at(5, 3, 13)  # Thursday 13:00-15:59 of week 6: 70% negative instead of 20%
        buckets = series(louder=range(loud, loud + 3), angrier=range(angry, angry + 3))
        log = replay(buckets, LAST_TWO_WEEKS)

        def index(check: SpikeCheck) -> int:
            return (check.hour_start - START) // H

        kinds = {index(c): c.kinds for c, _ in log if c.kinds}
        assert kinds == {
            loud: (SpikeKind.VOLUME,),
            loud + 1: (SpikeKind.VOLUME,),
            loud + 2: (SpikeKind.VOLUME,),
            angry: (SpikeKind.NEGATIVE_SHARE,),
            angry + 1: (SpikeKind.NEGATIVE_SHARE,),
            angry + 2: (SpikeKind.NEGATIVE_SHARE,),
        }
        decisions = [(index(c), d) for c, d in log if d is not AlertDecision.NONE]
        # Opened at the first hour, silent in hours 2-3, closed after two calm hours (a normal hour
        # at z >= 2 by chance would postpone the end by an hour).
        assert [d for _, d in decisions] == [AlertDecision.OPEN, AlertDecision.CLOSED] * 2
        (opened, _), (closed, _), (reopened, _), (closed_again, _) = decisions
        assert (opened, reopened) == (loud, angry)
        assert loud + 4 <= closed <= loud + 6
        assert angry + 4 <= closed_again <= angry + 6

        opening = next(c for c, d in log if d is AlertDecision.OPEN)
        assert opening.ratio >= 3
        assert opening.summary().startswith("Volume ")
        assert opening.summary().endswith(" expected at Tue 14:00)")
        angry_check = next(c for c, _ in log if index(c) == angry)
        assert angry_check.baseline_share == pytest.approx(0.2, abs=0.02)
        assert angry_check.negative_share is not None
        assert angry_check.negative_share >= 0.5
        assert angry_check.summary().startswith("Negative share ")
        assert "against 20% normal" in angry_check.summary()
        assert angry_check.summary().endswith("posts at Thu 13:00)")

    def test_a_running_hour_is_compared_with_the_part_elapsed(self) -> None:
        buckets = series()
        i = at(5, 1, 14)  # Tuesday 14:00, about 40 posts in a normal hour
        hour = buckets[i].hour_start
        burst = check_spike(
            buckets[:i], HourBucket(hour, 60), now=hour + 20 * timedelta(minutes=1), tz=TZ
        )
        assert burst.kinds == (SpikeKind.VOLUME,)
        assert not burst.complete
        assert 10 <= burst.expected <= 17  # a third of the hour's median
        assert "posts so far against" in burst.summary()
        early = check_spike(
            buckets[:i], HourBucket(hour, 8), now=hour + 2 * timedelta(minutes=1), tz=TZ
        )
        assert not early.spiking  # far above the pro-rated expectation, but under min_volume
        normal = check_spike(
            buckets[:i], HourBucket(hour, 15), now=hour + 20 * timedelta(minutes=1), tz=TZ
        )
        assert not normal.spiking


class TestQuietAndShortHistories:
    def test_quiet_series_never_alerts(self) -> None:
        rng = random.Random(3)
        buckets = []
        for i in range(6 * WEEK):
            count = rng.randint(0, 2)
            buckets.append(HourBucket(START + i * H, count, rng.randint(0, count)))
        log = replay(buckets, LAST_TWO_WEEKS)
        assert not any(c.spiking for c, _ in log)

    def test_thirty_posts_after_a_flat_history_of_zeros(self) -> None:
        zeros = [HourBucket(START + i * H, 0) for i in range(2 * WEEK)]
        hour = START + 2 * WEEK * H
        check = check_spike(zeros, HourBucket(hour, 30, 3), now=hour + H, tz=TZ)
        assert check.kinds == (SpikeKind.VOLUME,)
        assert (check.expected, check.z, check.ratio) == (0, 30, 30)
        assert check.baseline_share is None  # no posts before: no share to compare with
        assert check.summary() == "Volume 30.0× normal (30 posts against 0 expected at Mon 00:00)"

    def test_hours_without_a_bucket_count_as_zero_from_since(self) -> None:
        hour = START + 2 * WEEK * H
        check = check_spike([], HourBucket(hour, 30), now=hour + H, tz=TZ, since=START)
        assert check.kinds == (SpikeKind.VOLUME,)
        # Two same-hour samples are short of min_weeks, so the hours beside them join: 2 x 3, less
        # the hour before START.
        assert check.samples == 5

    def test_one_week_of_history_is_enough(self) -> None:
        spike = at(1, 2, 15)  # Wednesday 15:00 of the second week
        buckets = series(weeks=2, louder=range(spike, spike + 3))
        log = replay(buckets, WEEK, since=START)
        # The same hour last week and the hours beside it (the first check lacks the hour before
        # START; the last one reaches back two weeks to START itself).
        assert {c.samples for c, _ in log[1:-1]} == {3}
        assert [(c.hour_start - START) // H for c, _ in log if c.spiking] == [
            spike,
            spike + 1,
            spike + 2,
        ]
        assert [d for _, d in log if d is not AlertDecision.NONE] == [
            AlertDecision.OPEN,
            AlertDecision.CLOSED,
        ]

    def test_less_than_a_week_is_no_baseline(self) -> None:
        buckets = series(weeks=1)[:100]
        hour = buckets[-1].hour_start + H
        check = check_spike(buckets, HourBucket(hour, 500, 400), now=hour + H, tz=TZ)
        assert check.samples == 0
        assert not check.spiking


def test_the_week_is_local_across_a_daylight_saving_change() -> None:
    """Berlin moves to summer time on 29 March 2026; Monday 09:00 is still compared with 09:00."""
    first = datetime(2026, 3, 9, tzinfo=BERLIN).astimezone(UTC)
    buckets = []
    for i in range(3 * WEEK + 1):  # 03-09 .. 03-30, one hour more than three weeks
        hour = first + i * H
        buckets.append(HourBucket(hour, 50 if hour.astimezone(BERLIN).hour == 9 else 5))
    nine = datetime(2026, 3, 30, 9, tzinfo=BERLIN).astimezone(UTC)
    check = check_spike(buckets, HourBucket(nine, 50), now=nine + H, tz=TZ)
    assert check.expected == 50
    assert not check.spiking
    ten = nine + H
    assert check_spike(buckets, HourBucket(ten, 50), now=ten + H, tz=TZ).spiking


# -- the alert state machine ----------------------------------------------------------------------

T0 = datetime(2026, 2, 2, 9, tzinfo=UTC)


def checked(
    hour: int, *, z: float = 0.0, share_z: float = 0.0, complete: bool = True
) -> SpikeCheck:
    """A check of hour T0 + `hour`, spiking in the kinds whose z reaches the default 4."""
    kinds = [SpikeKind.VOLUME] if z >= 4 else []
    kinds += [SpikeKind.NEGATIVE_SHARE] if share_z >= 4 else []
    return SpikeCheck(
        hour_start=T0 + hour * H,
        local_hour=T0 + hour * H,
        complete=complete,
        kinds=tuple(kinds),
        observed=16 + round(4 * z),
        expected=16.0,
        z=z,
        ratio=1 + z / 4,
        samples=8,
        negative=3,
        negative_share=0.2,
        baseline_share=0.2,
        share_z=share_z,
    )


SPIKE = 6.0


def run(checks: list[SpikeCheck], settings: SpikeSettings | None = None) -> list[str]:
    state: SpikeState | None = None
    decisions = []
    for check in checks:
        now = check.hour_start + (H if check.complete else 10 * timedelta(minutes=1))
        state, decision = next_state(state, check, now, settings)
        decisions.append(decision.value)
    return decisions


class TestAlertState:
    def test_opens_once_and_closes_after_two_calm_hours(self) -> None:
        checks = [
            checked(0),
            checked(1, z=SPIKE),
            checked(2, z=SPIKE),
            checked(3),
            checked(4),
            checked(5),
        ]
        assert run(checks) == ["none", "open", "none", "none", "closed", "none"]

    def test_an_hour_above_the_release_level_restarts_the_recovery(self) -> None:
        checks = [
            checked(0, z=SPIKE),
            checked(1),
            checked(2, z=3.0),  # below the alert threshold, above the release one
            checked(3),
            checked(4),
        ]
        assert run(checks) == ["open", "none", "none", "none", "closed"]

    def test_recovery_watches_the_kinds_the_spike_showed(self) -> None:
        volume = [checked(0, z=SPIKE), checked(1, share_z=3.0), checked(2, share_z=3.0)]
        assert run(volume) == ["open", "none", "closed"]
        share = [checked(0, share_z=SPIKE), checked(1, z=3.0), checked(2, share_z=3.0)]
        assert run(share) == ["open", "none", "none"]

    def test_a_new_kind_during_a_spike_joins_it_without_a_new_alert(self) -> None:
        checks = [
            checked(0, z=SPIKE),
            checked(1, share_z=SPIKE),
            checked(2, share_z=3.0),  # the share, now part of the spike, is still high
            checked(3),
            checked(4),
        ]
        assert run(checks) == ["open", "none", "none", "none", "closed"]

    def test_a_later_spike_opens_a_new_alert(self) -> None:
        checks = [checked(0, z=SPIKE), checked(1), checked(2), checked(3, z=SPIKE)]
        assert run(checks) == ["open", "none", "closed", "open"]

    def test_a_running_hour_can_open_but_not_close(self) -> None:
        checks = [
            checked(0, z=SPIKE, complete=False),
            checked(0, z=SPIKE),
            checked(1, complete=False),
            checked(1),
            checked(2, complete=False),
            checked(2),
        ]
        assert run(checks) == ["open", "none", "none", "none", "none", "closed"]

    def test_checking_the_same_hour_again_changes_nothing(self) -> None:
        checks = [checked(0, z=SPIKE), checked(1), checked(1), checked(1), checked(2)]
        assert run(checks) == ["open", "none", "none", "none", "closed"]

    def test_recovery_hours_is_configurable(self) -> None:
        checks = [checked(0, z=SPIKE), checked(1)]
        assert run(checks, SpikeSettings(recovery_hours=1)) == ["open", "closed"]

    def test_cooldown_follows_a_new_spike_silently(self) -> None:
        checks = [
            checked(0, z=SPIKE),
            checked(1),
            checked(2),
            checked(3, z=SPIKE),  # 3 h after the first alert: within the cooldown
            checked(4),
            checked(5),
            checked(7, z=SPIKE),  # 7 h after: alerts again
        ]
        settings = SpikeSettings(cooldown=6 * H)
        assert run(checks, settings) == ["open", "none", "closed", "none", "none", "none", "open"]


class TestValidation:
    def test_buckets(self) -> None:
        with pytest.raises(InvalidInput, match="timezone-aware"):
            HourBucket(datetime(2026, 1, 5), 1)  # noqa: DTZ001 - the mistake under test
        with pytest.raises(InvalidInput, match="start of a UTC hour"):
            HourBucket(START + timedelta(minutes=30), 1)
        with pytest.raises(InvalidInput, match="negative <= count"):
            HourBucket(START, 2, 3)

    def test_check_arguments(self) -> None:
        with pytest.raises(InvalidInput, match="before the hour"):
            check_spike([], HourBucket(START, 1), now=START - H)
        with pytest.raises(InvalidInput, match="unknown time zone 'Mars/Olympus'"):
            check_spike([], HourBucket(START, 1), now=START, tz="Mars/Olympus")

    def test_settings(self) -> None:
        with pytest.raises(InvalidInput, match="release_z"):
            SpikeSettings(release_z=5)
        with pytest.raises(InvalidInput, match="recovery_hours"):
            SpikeSettings(recovery_hours=0)
