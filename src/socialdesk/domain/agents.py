"""Agents, their roles and teams, and API tokens.

Roles are ordered: a supervisor may do all an agent may, an admin all a supervisor may.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANKS = {Role.AGENT: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


@dataclass(slots=True)
class Team:
    """A group of agents. `skills` (languages, platforms, intents; empty: any) decide which
    conversations routing sends it; `assignment_mode` how it hands them to its agents."""

    name: str
    created_at: datetime
    skills: dict[str, list[str]] = field(default_factory=dict)
    assignment_mode: str = "round_robin"
    calendar_id: int | None = None
    sla_policy_id: int | None = None
    last_assigned_agent_id: int | None = None
    id: int | None = None


@dataclass(slots=True)
class Agent:
    username: str
    role: Role
    created_at: datetime
    display_name: str | None = None
    email: str | None = None
    password_hash: str | None = None
    active: bool = True
    team_ids: list[int] = field(default_factory=list)
    capacity: dict[str, int] = field(default_factory=dict)
    presence: str = "offline"
    presence_at: datetime | None = None
    last_assigned_at: datetime | None = None
    session_epoch: int = 0  # browser sessions carry it; raising it signs the agent out everywhere
    id: int | None = None

    @property
    def name(self) -> str:
        return self.display_name or self.username


@dataclass(slots=True)
class ApiToken:
    """A bearer token; only its SHA-256 digest is stored, the token itself is shown once."""

    agent_id: int
    name: str
    token_hash: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    id: int | None = None

    def usable(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now
