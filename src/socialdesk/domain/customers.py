"""Customer (a person) and Identity (that person's handle on one platform, with profile facts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from socialdesk.domain.tags import apply_tags


@dataclass(slots=True)
class Customer:
    """A person. Tags describe the person across channels ("vip" raises priority in triage)."""

    created_at: datetime
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    id: int | None = None

    def retag(self, add: list[str], remove: list[str]) -> tuple[list[str], list[str]]:
        """Adds and removes tags; returns what really changed (added, removed)."""
        return apply_tags(self.tags, add, remove)


@dataclass(slots=True)
class Identity:
    """A customer's account on one platform; unique on (platform, external_id).

    `external_id` is the platform's stable id (X user id, page-scoped id, e-mail address, phone
    number); `handle` is what people see (@name). Reach facts (followers, verified) are refreshed
    from each new message because they change over time.
    """

    platform: str
    external_id: str
    customer_id: int | None
    created_at: datetime
    handle: str | None = None
    display_name: str | None = None
    followers: int | None = None
    verified: bool = False
    profile: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def refresh(
        self,
        *,
        handle: str | None,
        display_name: str | None,
        followers: int | None,
        verified: bool | None,
    ) -> bool:
        """Take newer profile facts where given; returns whether anything changed."""
        changed = False
        if handle is not None and handle != self.handle:
            self.handle, changed = handle, True
        if display_name is not None and display_name != self.display_name:
            self.display_name, changed = display_name, True
        if followers is not None and followers != self.followers:
            self.followers, changed = followers, True
        if verified is not None and verified != self.verified:
            self.verified, changed = verified, True
        return changed
