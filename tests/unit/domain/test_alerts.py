"""Spike alerts: what an alert records of a check, and the detector's state kept with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from socialdesk.domain.alerts import (
    SAMPLE_CHARS,
    SamplePost,
    SubjectKind,
    open_alert,
    state_from_json,
    state_to_json,
)
from socialdesk.domain.spikes import HourBucket, SpikeKind, SpikeState, check_spike, next_state

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
HOUR = NOW.replace(minute=0)


def test_the_state_survives_storage() -> None:
    state = SpikeState(
        active=True,
        started_at=HOUR,
        kinds=(SpikeKind.VOLUME, SpikeKind.NEGATIVE_SHARE),
        announced=True,
        calm_since=None,
        last_alert_at=NOW,
    )
    assert state_from_json(state_to_json(state)) == state
    assert state_from_json(state_to_json(SpikeState())) == SpikeState()
    assert state_from_json({"kinds": ["volume", "from_the_future"]}).kinds == (SpikeKind.VOLUME,)


def test_an_opened_alert_says_what_was_measured_with_samples() -> None:
    history = [HourBucket(HOUR - timedelta(weeks=w), 2) for w in range(1, 4)]
    check = check_spike(history, HourBucket(HOUR, 30, 3), now=NOW, tz="UTC")
    state, _ = next_state(None, check, NOW)
    posts = [
        SamplePost(i, 10 + i, f"@u{i}", "x" * 300, NOW - timedelta(minutes=i), i == 0)
        for i in range(7)
    ]
    alert = open_alert(SubjectKind.QUERY, "Outage Watch", check, state, posts, NOW)
    assert alert.kinds == ["volume"]
    assert alert.summary == check.summary()
    assert alert.details["observed"] == 30
    assert alert.details["expected"] == 1.0  # 2 a week, half the hour gone
    assert len(alert.details["posts"]) == 5
    first = alert.details["posts"][0]
    assert (first["handle"], first["conversation_id"], first["negative"]) == ("@u0", 10, True)
    assert len(first["text"]) == SAMPLE_CHARS
    assert first["text"].endswith("…")
