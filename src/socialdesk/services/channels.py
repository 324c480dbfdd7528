"""Connecting channels: one account on a platform, with its settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from socialdesk.domain.agents import Agent
from socialdesk.domain.channels import Channel
from socialdesk.domain.errors import Conflict, InvalidInput, NotFound
from socialdesk.domain.events import ChannelCreated, ChannelUpdated
from socialdesk.domain.platforms import PLATFORM_NAME
from socialdesk.domain.text import text_problem
from socialdesk.services.ports import SecretBox, UnitOfWork

MAX_NAME = 200
MAX_SETTINGS = 50


def check_create_channel(
    uow: UnitOfWork, platform: str, name: str, settings: Mapping[str, str]
) -> tuple[str, str, dict[str, str]]:
    platform = platform.strip().lower()
    if not PLATFORM_NAME.match(platform):
        raise InvalidInput(
            f"platform {platform!r} is not a platform name: use lower-case letters, digits, _ or -"
            " (for example x, facebook, instagram, email, chat, phone)",
            field="platform",
        )
    name = name.strip()
    if not name or len(name) > MAX_NAME or text_problem(name):
        raise InvalidInput(f"name must be 1-{MAX_NAME} printable characters", field="name")
    if len(settings) > MAX_SETTINGS:
        raise InvalidInput(f"at most {MAX_SETTINGS} settings", field="settings")
    for key, value in settings.items():
        if not key or len(key) > 100 or text_problem(key) or text_problem(value):
            raise InvalidInput(f"setting {key!r} is not valid", field="settings")
    if uow.channels.find(platform, name) is not None:
        raise Conflict(f"a {platform} channel named {name!r} exists already", field="name")
    return platform, name, dict(settings)


def do_create_channel(
    uow: UnitOfWork,
    platform: str,
    name: str,
    settings: dict[str, str],
    now: datetime,
    actor_id: int | None,
) -> Channel:
    channel = Channel(platform=platform, name=name, created_at=now, settings=settings)
    uow.channels.add(channel)
    assert channel.id is not None
    uow.events.append(
        [
            ChannelCreated(
                occurred_at=now,
                actor_agent_id=actor_id,
                channel_id=channel.id,
                platform=platform,
                channel_name=name,
            )
        ]
    )
    return channel


def create_channel(
    uow: UnitOfWork,
    secrets: SecretBox,
    actor: Agent | None,
    platform: str,
    name: str,
    settings: Mapping[str, str],
    now: datetime,
) -> Channel:
    """Connect a channel; its credentials are encrypted before they are stored."""
    with uow:
        platform, name, checked = check_create_channel(uow, platform, name, settings)
        channel = do_create_channel(
            uow, platform, name, secrets.seal(checked), now, actor.id if actor else None
        )
        uow.commit()
    return channel


def update_channel(
    uow: UnitOfWork,
    secrets: SecretBox,
    actor: Agent | None,
    channel_id: int,
    settings: Mapping[str, str],
    now: datetime,
    *,
    active: bool | None = None,
) -> Channel:
    """Change settings (an empty value removes one: rotate or drop a credential) or switch a
    channel off and on; the names of the changed settings are logged, never their values."""
    with uow:
        channel = uow.channels.get(channel_id)
        if channel is None:
            raise NotFound(f"channel {channel_id} does not exist")
        if len(settings) > MAX_SETTINGS:
            raise InvalidInput(f"at most {MAX_SETTINGS} settings", field="settings")
        for key, value in settings.items():
            if not key or len(key) > 100 or text_problem(key) or text_problem(value):
                raise InvalidInput(f"setting {key!r} is not valid", field="settings")
        merged = {**channel.settings, **secrets.seal({k: v for k, v in settings.items() if v})}
        for key in [k for k, v in settings.items() if not v]:
            merged.pop(key, None)
        channel.settings = merged
        if active is not None:
            channel.active = active
        uow.channels.update(channel)
        uow.events.append(
            [
                ChannelUpdated(
                    occurred_at=now,
                    actor_agent_id=actor.id if actor else None,
                    channel_id=channel_id,
                    settings_changed=sorted(settings),
                    active=channel.active,
                )
            ]
        )
        uow.commit()
    return channel


def ensure_channels(
    uow: UnitOfWork, platform: str, names: list[str], now: datetime, settings: dict[str, str]
) -> dict[str, int]:
    """Channels by name, creating the missing ones (importers name brand accounts this way)."""
    ids: dict[str, int] = {}
    with uow:
        for name in names:
            channel = uow.channels.find(platform, name)
            if channel is None:
                checked = check_create_channel(uow, platform, name, settings)
                channel = do_create_channel(uow, *checked, now, None)
            assert channel.id is not None
            ids[name] = channel.id
        uow.commit()
    return ids
