"""Spike detection: unusual volume or negative share in an hour, and when to alert about it.

Pure: takes the hourly counts and `now`; never reads the clock or the database. The caller runs one
check per subject (a listening query, an intent, the whole brand) and keeps a `SpikeState` for each.

Baseline. Public posts follow the week (Monday 10:00 is busy, Sunday 04:00 is not), so an hour is
compared with the same local hour of the week in up to `weeks` previous weeks: the median is the
expected count and the median absolute deviation (MAD) the spread. Medians, not means, so that a
past spike does not raise the bar for the next one. With fewer than `min_weeks` such hours, the
neighbouring hours (±1 h) of those weeks join the sample, so one week of history gives three
values. Hours from `since` on that have no bucket count as zero.

    z = (observed - expected) / (1.4826·MAD + √expected + 1)

1.4826·MAD estimates the standard deviation of normal data; √expected is the Poisson noise a
count has even when past weeks were identical (MAD 0), and +1 keeps quiet series (expected 0)
finite. A volume spike needs z ≥ `z_threshold`, at least `min_volume` posts, and `min_ratio`
times the expected count.

Negative share is compared with the share over the whole window, not per hour of the week: it
varies far less with the time of day than volume does, and a pooled share is stable even for quiet
hours. The test is a one-sided z-test of proportion with a continuity correction (binomial tails
are heavier than normal ones at small counts), plus `share_margin` and `min_negative`.

The current hour may still be running (`now` inside it): its expectation is pro-rated to the part
elapsed, so an alert can go out minutes after a storm starts instead of after the hour. Counts are
not scaled up (that would multiply the noise) and `min_volume` applies to the raw count.

Alerts open when a spike starts, stay quiet while it lasts and close after `recovery_hours`
complete hours in which the z of each kind the spike showed stays below `release_z` (hysteresis,
so a spike hovering at the threshold alerts once; a volume spike does not wait on the share).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from statistics import median

from socialdesk.domain.calendars import zone
from socialdesk.domain.errors import InvalidInput

HOUR = timedelta(hours=1)
MIN_SAMPLES = 3  # fewer past hours than this is no baseline: a new subject does not alert
MAD_TO_SD = 1.4826
SHARE_FLOOR = 0.02  # a baseline share of 0 or 1 would make any deviation infinitely unusual
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class SpikeKind(StrEnum):
    VOLUME = "volume"
    NEGATIVE_SHARE = "negative_share"


class AlertDecision(StrEnum):
    OPEN = "open"
    NONE = "none"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SpikeSettings:
    z_threshold: float = 4.0
    min_volume: int = 10
    min_ratio: float = 2.0
    share_margin: float = 0.15  # negative share must exceed the baseline by this much
    min_negative: int = 5
    release_z: float = 2.0  # an open spike is calm once the z of its kinds stays below this
    recovery_hours: int = 2
    cooldown: timedelta = timedelta(0)  # minimum time between two alerts of one subject
    weeks: int = 8
    min_weeks: int = 3  # with fewer same-hour samples, the neighbouring hours join

    def __post_init__(self) -> None:
        if not 0 < self.release_z <= self.z_threshold:
            raise InvalidInput("release_z must be above 0 and at most z_threshold")
        if self.min_volume < 1 or self.min_negative < 1 or self.min_ratio < 1:
            raise InvalidInput("min_volume, min_negative and min_ratio must be at least 1")
        if self.recovery_hours < 1 or self.weeks < 1 or self.min_weeks < 1:
            raise InvalidInput("recovery_hours, weeks and min_weeks must be at least 1")
        if self.cooldown < timedelta(0) or not 0 <= self.share_margin < 1:
            raise InvalidInput("cooldown cannot be negative and share_margin must be in [0, 1)")


@dataclass(frozen=True, slots=True)
class HourBucket:
    """Posts about one subject in the hour from `hour_start` (timezone-aware, on a UTC hour)."""

    hour_start: datetime
    count: int
    negative: int = 0

    def __post_init__(self) -> None:
        start = self.hour_start
        if start.tzinfo is None or start.utcoffset() is None:
            raise InvalidInput(f"hour_start must be timezone-aware, got {start}")
        if start.astimezone(UTC).replace(minute=0, second=0, microsecond=0) != start:
            raise InvalidInput(f"hour_start must be the start of a UTC hour, got {start}")
        if not 0 <= self.negative <= self.count:
            raise InvalidInput(
                f"an hour needs 0 <= negative <= count, got {self.negative} of {self.count}"
            )


@dataclass(frozen=True, slots=True)
class SpikeCheck:
    """One hour measured against its baseline: what an alert says and what the state needs."""

    hour_start: datetime
    local_hour: datetime  # the same instant in the subject's time zone, for people
    complete: bool  # the hour is over; only complete hours count towards recovery
    kinds: tuple[SpikeKind, ...]  # empty when not spiking or when samples < MIN_SAMPLES
    observed: int
    expected: float  # pro-rated when the hour is still running
    z: float
    ratio: float  # observed / expected, with expected below 1 taken as 1
    samples: int  # past hours in the baseline; below MIN_SAMPLES nothing is judged
    negative: int
    negative_share: float | None
    baseline_share: float | None
    share_z: float

    @property
    def spiking(self) -> bool:
        return bool(self.kinds)

    def summary(self) -> str:
        """One line for an alert: each kind of spike with its size, counts and local hour."""
        at = f"at {_DAYS[self.local_hour.weekday()]} {self.local_hour:%H:%M}"
        so_far = "" if self.complete else " so far"
        parts = []
        if SpikeKind.VOLUME in self.kinds:
            parts.append(
                f"Volume {self.ratio:.1f}× normal ({self.observed} posts{so_far} against "
                f"{self.expected:.0f} expected {at})"
            )
        if SpikeKind.NEGATIVE_SHARE in self.kinds:
            assert self.negative_share is not None
            assert self.baseline_share is not None
            parts.append(
                f"Negative share {self.negative_share:.0%} against {self.baseline_share:.0%} "
                f"normal ({self.negative} of {self.observed} posts{so_far} {at})"
            )
        return "; ".join(parts) or f"No spike ({self.observed} posts{so_far} {at})"


def check_spike(
    history: Iterable[HourBucket],
    current: HourBucket,
    *,
    now: datetime,
    tz: str = "UTC",
    since: datetime | None = None,
    settings: SpikeSettings | None = None,
) -> SpikeCheck:
    """Measure `current` against the history before it.

    `history` holds at most one bucket per hour; buckets at or after `current` are ignored, and
    hours from `since` (default: the earliest bucket) without one count as zero. `now` must not be
    before the current hour starts; from its end on, the hour counts as complete.
    """
    cfg = settings or SpikeSettings()
    start = current.hour_start
    if now < start:
        raise InvalidInput(f"now ({now}) is before the hour being checked ({start})")
    counts = {b.hour_start: b for b in history if b.hour_start < start}
    first = min(counts, default=start) if since is None else since
    local = start.astimezone(zone(tz, "timezone"))

    same = _past_hours(local, cfg.weeks, (0,), first)
    hours = same if len(same) >= cfg.min_weeks else _past_hours(local, cfg.weeks, (-1, 0, 1), first)
    values = [counts[h].count if h in counts else 0 for h in hours]
    centre = median(values) if values else 0.0
    spread = median(abs(v - centre) for v in values) if values else 0.0

    fraction = min((now - start) / HOUR, 1.0)
    expected = centre * fraction
    observed = current.count
    z = (observed - expected) / (MAD_TO_SD * spread * fraction + math.sqrt(expected) + 1)

    window = [b for h, b in counts.items() if h >= start - timedelta(weeks=cfg.weeks)]
    total = sum(b.count for b in window)
    baseline_share = sum(b.negative for b in window) / total if total else None
    share = current.negative / observed if observed else None
    share_z = 0.0
    if baseline_share is not None and observed:
        p0 = min(max(baseline_share, SHARE_FLOOR), 1 - SHARE_FLOOR)
        share_z = (current.negative - 0.5 - observed * p0) / math.sqrt(observed * p0 * (1 - p0))

    judged = len(values) >= MIN_SAMPLES
    kinds: list[SpikeKind] = []
    if (
        judged
        and z >= cfg.z_threshold
        and observed >= max(cfg.min_volume, cfg.min_ratio * expected)
    ):
        kinds.append(SpikeKind.VOLUME)
    if (
        judged
        and share is not None
        and baseline_share is not None
        and share_z >= cfg.z_threshold
        and current.negative >= cfg.min_negative
        and share - baseline_share >= cfg.share_margin
    ):
        kinds.append(SpikeKind.NEGATIVE_SHARE)
    return SpikeCheck(
        hour_start=start,
        local_hour=local,
        complete=fraction >= 1.0,
        kinds=tuple(kinds),
        observed=observed,
        expected=expected,
        z=z,
        ratio=observed / max(expected, 1.0),
        samples=len(values),
        negative=current.negative,
        negative_share=share,
        baseline_share=baseline_share,
        share_z=share_z,
    )


def _past_hours(
    local: datetime, weeks: int, offsets: tuple[int, ...], first: datetime
) -> list[datetime]:
    """The UTC starts of the same local hour of the week (shifted by `offsets` hours) in the
    previous weeks, from `first` on. Arithmetic on local wall time keeps 09:00 at 09:00 across a
    daylight saving change; a set drops the duplicate an hour repeated by the change would give."""
    found = {
        (local - timedelta(weeks=week, hours=-offset)).astimezone(UTC)
        for week in range(1, weeks + 1)
        for offset in offsets
    }
    return sorted(h for h in found if h >= first)


@lru_cache(maxsize=256)
@dataclass(frozen=True, slots=True)
class SpikeState:
    """What alerting remembers about one subject between checks; store it with the subject."""

    active: bool = False
    started_at: datetime | None = None  # the hour the current or last spike began
    kinds: tuple[SpikeKind, ...] = ()  # every kind the current or last spike showed
    announced: bool = False  # the episode opened an alert, so its end is announced too
    calm_since: datetime | None = None  # first complete hour of the current calm run
    last_alert_at: datetime | None = None  # when an alert last opened, for the cooldown


def next_state(
    previous: SpikeState | None,
    check: SpikeCheck,
    now: datetime,
    settings: SpikeSettings | None = None,
) -> tuple[SpikeState, AlertDecision]:
    """The subject's state after `check` and whether to open, close or say nothing.

    A spike opens an alert unless one opened less than `cooldown` ago (the episode is then followed
    silently). While it lasts nothing more is said. A running hour can open a spike or keep it
    going but never ends one: only complete calm hours count, and `recovery_hours` of them in a
    row close it. Checking the same hour twice changes nothing.
    """
    cfg = settings or SpikeSettings()
    state = previous or SpikeState()
    if not state.active:
        if not check.spiking:
            return state, AlertDecision.NONE
        last = state.last_alert_at
        announce = last is None or now - last >= cfg.cooldown
        opened = SpikeState(
            active=True,
            started_at=check.hour_start,
            kinds=check.kinds,
            announced=announce,
            last_alert_at=now if announce else last,
        )
        return opened, AlertDecision.OPEN if announce else AlertDecision.NONE
    if check.spiking or _still_high(check, state.kinds, cfg.release_z):
        kinds = tuple(k for k in SpikeKind if k in state.kinds or k in check.kinds)
        return replace(state, kinds=kinds, calm_since=None), AlertDecision.NONE
    if not check.complete:
        return state, AlertDecision.NONE
    calm_since = state.calm_since or check.hour_start
    if check.hour_start - calm_since < (cfg.recovery_hours - 1) * HOUR:
        return replace(state, calm_since=calm_since), AlertDecision.NONE
    closed = SpikeState(
        started_at=state.started_at, kinds=state.kinds, last_alert_at=state.last_alert_at
    )
    return closed, AlertDecision.CLOSED if state.announced else AlertDecision.NONE


def _still_high(check: SpikeCheck, kinds: tuple[SpikeKind, ...], release_z: float) -> bool:
    """Whether a measure the spike showed is still at or above `release_z`."""
    if check.samples < MIN_SAMPLES:
        return False
    return (SpikeKind.VOLUME in kinds and check.z >= release_z) or (
        SpikeKind.NEGATIVE_SHARE in kinds and check.share_z >= release_z
    )
