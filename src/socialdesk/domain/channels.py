"""Channel: one connected account on a platform (the @brand handle on X, a Facebook page, a mailbox).

A channel's settings may hold credentials; they are never written to logs or API responses, so the
public view of a channel carries only the setting names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SECRET_SETTING_MARKERS = ("secret", "token", "password", "key")


def is_secret_setting(name: str) -> bool:
    """Whether a channel setting holds a credential, judged by its name."""
    lowered = name.lower()
    return any(marker in lowered for marker in SECRET_SETTING_MARKERS)


@dataclass(slots=True)
class Channel:
    platform: str
    name: str
    created_at: datetime
    settings: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    id: int | None = None

    def public_settings(self) -> dict[str, Any]:
        """Settings safe to show: secrets are replaced by a marker saying they are set."""
        return {k: ("********" if is_secret_setting(k) else v) for k, v in self.settings.items()}


@dataclass(slots=True)
class ChannelPoll:
    """Where a channel's poller stands: the platform cursor (since ids, IMAP UIDs) it resumes
    from, when it runs next and how the last run went (shown as the channel's health)."""

    channel_id: int
    cursor: dict[str, Any] = field(default_factory=dict)
    next_poll_at: datetime | None = None
    claimed_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_error: str | None = None
    consecutive_errors: int = 0
    polled_messages: int = 0
