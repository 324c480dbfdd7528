"""Users (agents, supervisors, admins), teams and API tokens; authenticating a token.

API tokens are 256-bit random strings shown once; only their SHA-256 digest is stored. A fast hash
is right here (unlike for passwords): a token has full entropy, so a stolen digest cannot be
guessed back, and every API request must verify one in microseconds.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from socialdesk.domain.agents import USERNAME, Agent, ApiToken, Role, Team
from socialdesk.domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from socialdesk.domain.events import (
    AgentCreated,
    Event,
    TeamCreated,
    TokenCreated,
    TokenRevoked,
    settings_changed,
)
from socialdesk.services.ports import PasswordHasher, UnitOfWork, UnitOfWorkFactory

TOKEN_PREFIX = "sdk_"  # noqa: S105 - a marker every token starts with, not a secret
LAST_USED_RESOLUTION = timedelta(minutes=5)
MIN_PASSWORD = 10


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_agent(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    *,
    username: str,
    role: Role,
    password: str | None,
    display_name: str | None,
    email: str | None,
    team_names: list[str],
    now: datetime,
    actor_id: int | None,
) -> Agent:
    if not USERNAME.match(username):
        raise InvalidInput(
            "a username is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field="username",
        )
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    with uow:
        if uow.agents.find(username) is not None:
            raise Conflict(f"user {username!r} exists already", field="username")
        team_ids = []
        for name in team_names:
            team = uow.teams.find(name)
            if team is None:
                raise InvalidInput(f"team {name!r} does not exist", field="teams")
            assert team.id is not None
            team_ids.append(team.id)
        agent = Agent(
            username=username,
            role=role,
            created_at=now,
            display_name=display_name,
            email=email,
            password_hash=hasher.hash(password) if password else None,
            team_ids=team_ids,
        )
        uow.agents.add(agent)
        assert agent.id is not None
        uow.events.append(
            [
                AgentCreated(
                    occurred_at=now,
                    actor_agent_id=actor_id,
                    agent_id=agent.id,
                    username=username,
                    role=role.value,
                )
            ]
        )
        uow.commit()
    return agent


def set_password(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    username: str,
    password: str,
    *,
    actor_id: int | None,
    now: datetime,
) -> None:
    """Set a password (the audit log says who changed it, never the hash)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    with uow:
        agent = uow.agents.find(username)
        if agent is None:
            raise NotFound(f"user {username!r} does not exist")
        agent.password_hash = hasher.hash(password)
        agent.session_epoch += 1  # a new password ends the sessions the old one opened
        uow.agents.update(agent)
        uow.events.append([_sessions_ended(agent, "password", actor_id, now)])
        uow.commit()


def end_sessions(uow: UnitOfWork, agent_id: int, now: datetime) -> None:
    """Sign the agent out of every browser: sessions made before now stop being accepted."""
    with uow:
        agent = uow.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} does not exist")
        agent.session_epoch += 1
        uow.agents.update(agent)
        uow.events.append([_sessions_ended(agent, "sessions", agent_id, now)])
        uow.commit()


def _sessions_ended(agent: Agent, subject: str, actor_id: int | None, now: datetime) -> Event:
    """A password set or a sign-out: both end the agent's sessions (epoch before and after)."""
    return settings_changed(
        now=now,
        actor_id=actor_id,
        subject=subject,
        subject_id=agent.username,
        before={"session_epoch": agent.session_epoch - 1},
        after={"session_epoch": agent.session_epoch},
    )


def create_team(uow: UnitOfWork, name: str, now: datetime, actor_id: int | None) -> Team:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a team name is 1-100 characters", field="name")
    with uow:
        if uow.teams.find(name) is not None:
            raise Conflict(f"team {name!r} exists already", field="name")
        team = Team(name=name, created_at=now)
        uow.teams.add(team)
        assert team.id is not None
        uow.events.append(
            [TeamCreated(occurred_at=now, actor_agent_id=actor_id, team_id=team.id, team_name=name)]
        )
        uow.commit()
    return team


def create_token(
    uow: UnitOfWork,
    *,
    username: str,
    name: str,
    now: datetime,
    expires_in: timedelta | None,
    actor_id: int | None,
) -> tuple[str, ApiToken]:
    """A new token for a user; returns the token (shown once) and its stored record."""
    if not name.strip() or len(name) > 100:
        raise InvalidInput("a token name is 1-100 characters", field="name")
    with uow:
        agent = uow.agents.find(username)
        if agent is None or not agent.active:
            raise NotFound(f"user {username!r} does not exist or is deactivated")
        assert agent.id is not None
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = ApiToken(
            agent_id=agent.id,
            name=name.strip(),
            token_hash=hash_token(token),
            prefix=token[: len(TOKEN_PREFIX) + 6],
            created_at=now,
            expires_at=now + expires_in if expires_in else None,
        )
        uow.tokens.add(record)
        assert record.id is not None
        uow.events.append(
            [
                TokenCreated(
                    occurred_at=now,
                    actor_agent_id=actor_id,
                    token_id=record.id,
                    agent_id=agent.id,
                    token_name=record.name,
                )
            ]
        )
        uow.commit()
    return token, record


def revoke_token(uow: UnitOfWork, actor: Agent | None, token_id: int, now: datetime) -> ApiToken:
    """Admins (and the operator at the command line, `actor` None) revoke any token; others
    only their own."""
    with uow:
        record = uow.tokens.get(token_id)
        allowed = actor is None or actor.role.allows(Role.ADMIN)
        if record is None or not (allowed or (actor is not None and record.agent_id == actor.id)):
            raise NotFound(f"token {token_id} does not exist")
        if record.revoked_at is None:
            record.revoked_at = now
            uow.tokens.update(record)
            uow.events.append(
                [
                    TokenRevoked(
                        occurred_at=now,
                        actor_agent_id=actor.id if actor else None,
                        token_id=token_id,
                    )
                ]
            )
        uow.commit()
    return record


def authenticate_token(uow_factory: UnitOfWorkFactory, token: str, now: datetime) -> Agent:
    """The active user a bearer token belongs to, or Unauthorized.

    The lookup is a read-only unit (no write lock on SQLite); `last_used_at` is written in a
    separate short unit at most every few minutes, so that reads stay reads.
    """
    if not token.startswith(TOKEN_PREFIX):
        raise Unauthorized("the bearer token is not a socialdesk API token")
    with uow_factory(read_only=True) as uow:
        found = uow.tokens.find_owner(hash_token(token))
    if found is None or not found[0].usable(now):
        raise Unauthorized("the API token is unknown, revoked or expired")
    record, agent = found
    if not agent.active:
        raise Unauthorized("the API token's user is deactivated")
    if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
        with uow_factory() as uow:
            record.last_used_at = now
            uow.tokens.update(record)
            uow.commit()
    return agent


# A hash to verify against when the username is unknown, so a wrong username costs as long as a
# wrong password (no timing hint about which usernames exist).
_DUMMY_HASH: dict[str, str] = {}


def authenticate_password(
    uow_factory: UnitOfWorkFactory, hasher: PasswordHasher, username: str, password: str
) -> Agent:
    """The active user with this username and password, or Unauthorized with one message for
    every failure (which part was wrong is not said)."""
    with uow_factory(read_only=True) as uow:
        agent = uow.agents.find(username.strip())
    if agent is None or agent.password_hash is None or not agent.active:
        dummy = _DUMMY_HASH.setdefault("hash", hasher.hash("not a password of anyone"))
        hasher.verify(dummy, password)
        raise Unauthorized("the username or the password is wrong")
    if not hasher.verify(agent.password_hash, password):
        raise Unauthorized("the username or the password is wrong")
    return agent
