"""Small builders with defaults, so each test states only what matters to it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from socialdesk.bootstrap import Desk
from socialdesk.domain.agents import Agent, Role
from socialdesk.domain.messages import Author, Direction, MessageKind, NormalisedMessage
from socialdesk.services.agents import create_agent
from socialdesk.services.channels import create_channel
from socialdesk.services.intake import ingest
from socialdesk.services.ports import UnitOfWorkFactory
from tests.fakes import FakePasswordHasher, FakeSecretBox

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def inbound(
    channel_id: int,
    external_id: str,
    text: str = "my order never arrived",
    *,
    author: str = "cust-1",
    kind: MessageKind = MessageKind.POST,
    at: datetime | None = None,
    **fields: Any,
) -> NormalisedMessage:
    return NormalisedMessage(
        channel_id=channel_id,
        external_id=external_id,
        text=text,
        created_at=at or T0,
        kind=kind,
        author=Author(
            external_id=author,
            handle=f"@{author}",
            name=author.title(),
            followers=fields.pop("followers", None),
            email=fields.pop("email", None),
        ),
        **fields,
    )


def outbound(
    channel_id: int,
    external_id: str,
    in_reply_to: str | None,
    *,
    at: datetime | None = None,
    text: str = "Sorry to hear that! Please DM us.",
    **fields: Any,
) -> NormalisedMessage:
    return NormalisedMessage(
        channel_id=channel_id,
        external_id=external_id,
        text=text,
        created_at=at or T0,
        direction=Direction.OUTBOUND,
        in_reply_to=in_reply_to,
        **fields,
    )


def conversation(
    desk: Desk, channel_id: int, external_id: str, text: str = "my order never arrived", **kw: Any
) -> int:
    """A customer's message taken in through intake (as a webhook would); its conversation."""
    result = ingest(
        desk.uow,
        [inbound(channel_id, external_id, text, **kw)],
        now=desk.clock.now(),
        policy=desk.policy,
        source="test",
    )
    found = result.outcomes[0].conversation_id
    assert found is not None
    return found


def channel(
    uow: UnitOfWorkFactory,
    platform: str = "x",
    name: str = "@brand",
    now: datetime = T0,
    settings: dict[str, str] | None = None,
) -> int:
    """A new channel's id."""
    created = create_channel(uow(), FakeSecretBox(), None, platform, name, settings or {}, now)
    assert created.id is not None
    return created.id


def agent(
    uow: UnitOfWorkFactory, username: str = "sam", role: Role = Role.AGENT, now: datetime = T0
) -> Agent:
    return create_agent(
        uow(),
        FakePasswordHasher(),
        username=username,
        role=role,
        password=None,
        display_name=username.title(),
        email=None,
        team_names=[],
        now=now,
        actor_id=None,
    )
