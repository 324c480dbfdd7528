"""Saved playbooks: every version is kept with its author, time and comment; exactly one is live.
The diff against the previous version is computed when asked, from the two stored texts."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

MAX_COMMENT = 500
MAX_SOURCE = 512 * 1024


@dataclass(slots=True)
class PlaybookVersion:
    version: int
    source: str
    comment: str
    created_at: datetime
    author_agent_id: int | None = None
    live: bool = False
    activated_at: datetime | None = None
    id: int | None = None


def diff(previous: PlaybookVersion | None, current: PlaybookVersion) -> str:
    """A unified diff of the YAML, `v3` → `v4`, empty for the first version."""
    if previous is None:
        return ""
    return "".join(
        difflib.unified_diff(
            previous.source.splitlines(keepends=True),
            current.source.splitlines(keepends=True),
            fromfile=f"v{previous.version}",
            tofile=f"v{current.version}",
        )
    )
