"""Users, teams and API tokens on fakes: hashing, authentication, expiry and revocation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from socialdesk.domain.agents import ApiToken, Role
from socialdesk.domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from socialdesk.services import agents as svc
from tests import factories as f
from tests.factories import T0
from tests.fakes import FakePasswordHasher, FakeUnitOfWorkFactory


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


def test_token_is_stored_only_as_its_digest(uow) -> None:
    f.agent(uow, "sam")
    token, record = svc.create_token(
        uow(), username="sam", name="ci", now=T0, expires_in=None, actor_id=None
    )
    assert token.startswith("sdk_")
    assert len(token) > 40
    (stored,) = uow.all("tokens")
    assert stored.token_hash == svc.hash_token(token) != token
    assert token not in repr(uow.store)
    assert record.prefix == token[:10]


def test_authenticate_finds_the_user_and_touches_last_used_sparingly(uow) -> None:
    sam = f.agent(uow, "sam")
    token, _ = svc.create_token(
        uow(), username="sam", name="ci", now=T0, expires_in=None, actor_id=None
    )
    assert svc.authenticate_token(uow, token, T0).id == sam.id
    assert uow.all("tokens")[0].last_used_at == T0
    svc.authenticate_token(uow, token, T0 + timedelta(minutes=1))
    assert uow.all("tokens")[0].last_used_at == T0
    svc.authenticate_token(uow, token, T0 + timedelta(minutes=6))
    assert uow.all("tokens")[0].last_used_at == T0 + timedelta(minutes=6)


@pytest.mark.parametrize("token", ["", "Bearer x", "sdk_unknown", "ghp_abcdef"])
def test_unknown_tokens_are_refused(uow, token) -> None:
    with pytest.raises(Unauthorized):
        svc.authenticate_token(uow, token, T0)


def test_expired_and_revoked_tokens_are_refused(uow) -> None:
    sam = f.agent(uow, "sam")
    short, _ = svc.create_token(
        uow(), username="sam", name="a", now=T0, expires_in=timedelta(days=1), actor_id=None
    )
    with pytest.raises(Unauthorized, match="revoked or expired"):
        svc.authenticate_token(uow, short, T0 + timedelta(days=1))
    token, record = svc.create_token(
        uow(), username="sam", name="b", now=T0, expires_in=None, actor_id=None
    )
    svc.revoke_token(uow(), sam, _id(record), T0)
    with pytest.raises(Unauthorized):
        svc.authenticate_token(uow, token, T0)


def test_agents_revoke_only_their_own_tokens(uow) -> None:
    f.agent(uow, "sam")
    li = f.agent(uow, "li")
    _, record = svc.create_token(
        uow(), username="sam", name="a", now=T0, expires_in=None, actor_id=None
    )
    with pytest.raises(NotFound):
        svc.revoke_token(uow(), li, _id(record), T0)
    boss = f.agent(uow, "boss", Role.ADMIN)
    assert svc.revoke_token(uow(), boss, _id(record), T0).revoked_at == T0


def test_deactivated_user_cannot_use_tokens(uow) -> None:
    sam = f.agent(uow, "sam")
    token, _ = svc.create_token(
        uow(), username="sam", name="a", now=T0, expires_in=None, actor_id=None
    )
    with uow() as u:
        sam.active = False
        u.agents.update(sam)
        u.commit()
    with pytest.raises(Unauthorized, match="deactivated"):
        svc.authenticate_token(uow, token, T0)


def test_users_need_valid_names_unique_and_real_teams(uow) -> None:
    hasher = FakePasswordHasher()

    def add(username: str, **kw):
        base: dict[str, Any] = {
            "role": Role.AGENT,
            "password": None,
            "display_name": None,
            "email": None,
            "team_names": [],
            "now": T0,
            "actor_id": None,
        }
        base.update(kw)
        return svc.create_agent(uow(), hasher, username=username, **base)

    with pytest.raises(InvalidInput, match="username"):
        add("no spaces please")
    with pytest.raises(InvalidInput, match="at least 10"):
        add("sam", password="short")
    with pytest.raises(InvalidInput, match="team 'Nope' does not exist"):
        add("sam", team_names=["Nope"])
    svc.create_team(uow(), "Care", T0, None)
    sam = add("sam", team_names=["Care"], password="long enough pw")
    assert sam.team_ids == [uow.all("teams")[0].id]
    assert hasher.verify(uow.all("agents")[0].password_hash, "long enough pw")
    with pytest.raises(Conflict):
        add("sam")


def _id(record: ApiToken) -> int:
    assert record.id is not None
    return record.id
