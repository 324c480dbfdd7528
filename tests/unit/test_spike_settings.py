"""The spike detector's settings: SOCIALDESK_SPIKE_* in the environment reach the policy the
worker's spike job runs with, and a wrong value stops the desk at start with a message naming it.
No database: the job runs on a stand-in that answers the reads of a quiet pass."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any, Self, cast

import pytest
from pydantic import ValidationError

from socialdesk.bootstrap import spike_policy
from socialdesk.config import Settings
from socialdesk.domain.spikes import SpikeSettings
from socialdesk.services.ports import AnalyticsUnitOfWorkFactory
from socialdesk.services.spikes import detect_spikes

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ENVIRONMENT = {
    "SOCIALDESK_SPIKE_CHECK_MINUTES": "15",
    "SOCIALDESK_SPIKE_MIN_VOLUME": "25",
    "SOCIALDESK_SPIKE_Z_THRESHOLD": "5.5",
    "SOCIALDESK_SPIKE_MIN_RATIO": "3",
    "SOCIALDESK_SPIKE_MIN_NEGATIVE": "8",
    "SOCIALDESK_SPIKE_SHARE_MARGIN": "0.25",
    "SOCIALDESK_SPIKE_RELEASE_Z": "2.5",
    "SOCIALDESK_SPIKE_RECOVERY_HOURS": "3",
    "SOCIALDESK_SPIKE_COOLDOWN_MINUTES": "90",
    "SOCIALDESK_SPIKE_WEEKS": "4",
    "SOCIALDESK_SPIKE_MIN_WEEKS": "2",
}


def settings_from(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


class QuietListening:
    """The listening store as a pass with nothing to alert about sees it; records what the job
    asked for."""

    def __init__(self) -> None:
        self.every: timedelta | None = None
        self.since: datetime | None = None

    def claim_check(self, now: datetime, every: timedelta) -> bool:
        self.every = every
        return True

    def active_queries(self) -> list[Any]:
        return []

    def post_hours(self, since: datetime) -> list[tuple[datetime, str, int, int]]:
        self.since = since
        return []

    def match_hours(
        self, query_ids: Collection[int], since: datetime
    ) -> list[tuple[int, datetime, int, int]]:
        return []

    def latest_alerts(self) -> list[Any]:
        return []


class QuietUnit:
    def __init__(self, listening: QuietListening) -> None:
        self.listening = listening

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def commit(self) -> None:
        return None


def test_every_spike_setting_reaches_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = spike_policy(settings_from(monkeypatch, **ENVIRONMENT))
    assert policy.every == timedelta(minutes=15)
    assert policy.settings == SpikeSettings(
        z_threshold=5.5,
        min_volume=25,
        min_ratio=3,
        share_margin=0.25,
        min_negative=8,
        release_z=2.5,
        recovery_hours=3,
        cooldown=timedelta(minutes=90),
        weeks=4,
        min_weeks=2,
    )


def test_unset_the_policy_is_the_detectors_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    assert spike_policy(Settings(_env_file=None)).settings == SpikeSettings()


def test_an_unset_release_follows_a_lower_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCIALDESK_SPIKE_RELEASE_Z", raising=False)
    settings = settings_from(monkeypatch, SOCIALDESK_SPIKE_Z_THRESHOLD="1.5")
    assert spike_policy(settings).settings.release_z == 1.5


def test_the_spike_job_runs_with_the_configured_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    listening = QuietListening()

    def uow(*, read_only: bool = False) -> QuietUnit:
        return QuietUnit(listening)

    policy = spike_policy(settings_from(monkeypatch, **ENVIRONMENT))
    # Only the reads of a pass without alerts are answered; that is all this pass makes.
    report = detect_spikes(cast(AnalyticsUnitOfWorkFactory, uow), now=NOW, policy=policy)
    assert report.ran
    assert listening.every == timedelta(minutes=15)
    # the current hour, less SPIKE_WEEKS weeks and the one hour the baseline's neighbours need
    assert listening.since == datetime(2026, 2, 2, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SOCIALDESK_SPIKE_COOLDOWN_MINUTES", "-5", "greater than or equal to 0"),
        ("SOCIALDESK_SPIKE_SHARE_MARGIN", "1.5", "less than 1"),
        ("SOCIALDESK_SPIKE_RECOVERY_HOURS", "0", "greater than or equal to 1"),
        ("SOCIALDESK_SPIKE_MIN_RATIO", "often", "valid number"),
    ],
)
def test_a_wrong_value_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        settings_from(monkeypatch, **{name: value})
    text = str(refused.value)
    assert name.removeprefix("SOCIALDESK_").lower() in text
    assert message in text


def test_settings_that_do_not_fit_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError) as refused:
        settings_from(
            monkeypatch, SOCIALDESK_SPIKE_Z_THRESHOLD="3", SOCIALDESK_SPIKE_RELEASE_Z="3.5"
        )
    wanted = "SOCIALDESK_SPIKE_* settings do not fit together: release_z must be above 0 and at"
    assert wanted in str(refused.value)
