"""Spike alerts: what was announced about which subject, with the posts that show it, and the
detector's state kept with the alert between checks. Pure: no I/O, no clock.

A subject is the whole brand (every public inbound post), one listening query (the posts it
matched) or one intent (public posts triage gave it). The spike job (services/spikes.py) opens an
alert when `domain.spikes.next_state` says so, keeps the state on the open alert while the spike
lasts, and closes it when the spike has calmed down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from socialdesk.domain.spikes import SpikeCheck, SpikeKind, SpikeState

SAMPLE_POSTS = 5
SAMPLE_CHARS = 200
BRAND = "all public posts"  # the brand's subject name


class SubjectKind(StrEnum):
    BRAND = "brand"
    QUERY = "query"
    INTENT = "intent"


@dataclass(frozen=True, slots=True)
class SamplePost:
    """A post of the spike's hour that the alert shows (its text cut to SAMPLE_CHARS)."""

    message_id: int
    conversation_id: int
    handle: str | None
    text: str
    at: datetime
    negative: bool

    def as_dict(self) -> dict[str, Any]:
        text = self.text if len(self.text) <= SAMPLE_CHARS else self.text[: SAMPLE_CHARS - 1] + "…"
        return {
            "message_id": self.message_id,
            "conversation_id": self.conversation_id,
            "handle": self.handle,
            "text": text,
            "at": self.at.isoformat(),
            "negative": self.negative,
        }


@dataclass(slots=True)
class Alert:
    subject_kind: SubjectKind
    subject: str
    kinds: list[str]
    summary: str
    details: dict[str, Any]
    opened_at: datetime
    state: SpikeState
    closed_at: datetime | None = None
    id: int | None = None


def open_alert(
    kind: SubjectKind,
    subject: str,
    check: SpikeCheck,
    state: SpikeState,
    posts: list[SamplePost],
    now: datetime,
) -> Alert:
    """The alert for a spike `check` found: its one-line summary, and details a receiver can act
    on (the measures and up to SAMPLE_POSTS posts)."""
    details = {
        "hour_start": check.hour_start.isoformat(),
        "local_hour": check.local_hour.isoformat(),
        "complete": check.complete,
        "observed": check.observed,
        "expected": round(check.expected, 2),
        "z": round(check.z, 2),
        "ratio": round(check.ratio, 2),
        "baseline_hours": check.samples,
        "negative": check.negative,
        "negative_share": _rounded(check.negative_share),
        "baseline_share": _rounded(check.baseline_share),
        "share_z": round(check.share_z, 2),
        "posts": [p.as_dict() for p in posts[:SAMPLE_POSTS]],
    }
    return Alert(
        subject_kind=kind,
        subject=subject,
        kinds=[k.value for k in check.kinds],
        summary=check.summary()[:500],
        details=details,
        opened_at=now,
        state=state,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def state_to_json(state: SpikeState) -> dict[str, Any]:
    return {
        "active": state.active,
        "started_at": _iso(state.started_at),
        "kinds": [k.value for k in state.kinds],
        "announced": state.announced,
        "calm_since": _iso(state.calm_since),
        "last_alert_at": _iso(state.last_alert_at),
    }


def state_from_json(data: dict[str, Any]) -> SpikeState:
    """The state `state_to_json` wrote; unknown kinds (from a newer version) are dropped."""
    known = {k.value for k in SpikeKind}
    return SpikeState(
        active=bool(data.get("active")),
        started_at=_time(data.get("started_at")),
        kinds=tuple(SpikeKind(k) for k in data.get("kinds", ()) if k in known),
        announced=bool(data.get("announced")),
        calm_since=_time(data.get("calm_since")),
        last_alert_at=_time(data.get("last_alert_at")),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
