"""What an agent must see besides the queue: an @mention of them (or of their team) in a
colleague's note, and a follow-up reminder they set that came due. Saved inbox views live here
too: both are an agent's own small records."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

MENTION = "mention"
REMINDER = "reminder"
# @name where name is a username or a team name written with - or _ for spaces ("@billing-team").
MENTIONED = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9_.\-]{0,63})")
MAX_NOTICE = 500


@dataclass(slots=True)
class Notice:
    agent_id: int
    kind: str
    conversation_id: int
    text: str
    due_at: datetime
    created_at: datetime
    message_id: int | None = None
    read_at: datetime | None = None
    id: int | None = None


@dataclass(slots=True)
class SavedView:
    agent_id: int
    name: str
    query: str  # the inbox's query string: status=open&platform=x&tag=vip
    created_at: datetime
    id: int | None = None


def mentioned_names(text: str) -> list[str]:
    """The names @-mentioned in a note, lower-cased, in order, each once."""
    found: list[str] = []
    for match in MENTIONED.finditer(text):
        name = match.group(1).rstrip(".").lower()
        if name and name not in found:
            found.append(name)
    return found


def team_handle(team_name: str) -> str:
    """How a team is @-mentioned: its name in lower case with spaces as '-'."""
    return re.sub(r"\s+", "-", team_name.strip()).lower()


def excerpt(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
