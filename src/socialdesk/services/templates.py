"""Saved replies: create, change, delete, and render one for a conversation (the agent's
composer and the playbook's auto-acknowledgement both go through `render_for`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from socialdesk.domain.agents import Agent
from socialdesk.domain.errors import Conflict, InvalidInput, NotFound
from socialdesk.domain.events import SettingsChanged, settings_changed
from socialdesk.domain.platforms import PlatformCapabilities, capabilities_for
from socialdesk.domain.templates import Template, check_template, first_name, fits, render
from socialdesk.services.ports import PlaybookParser, UnitOfWork


@dataclass(frozen=True, slots=True)
class Rendered:
    template: str
    text: str
    length: int
    max_length: int | None
    fits: bool


def create_template(
    uow: UnitOfWork, actor: Agent | None, name: str, body: str, now: datetime
) -> Template:
    name, body = check_template(name, body)
    with uow:
        if uow.templates.find(name) is not None:
            raise Conflict(f"a template named {name!r} exists already", field="name")
        template = Template(name, body, now, now, actor.id if actor else None)
        uow.templates.add(template)
        uow.events.append([_changed(actor, name, None, body, now)])
        uow.commit()
    return template


def update_template(uow: UnitOfWork, actor: Agent, name: str, body: str, now: datetime) -> Template:
    name, body = check_template(name, body)
    with uow:
        template = uow.templates.find(name)
        if template is None:
            raise NotFound(f"there is no template named {name!r}")
        before = template.body
        template.body, template.updated_at, template.updated_by = body, now, actor.id
        uow.templates.update(template)
        uow.events.append([_changed(actor, name, before, body, now)])
        uow.commit()
    return template


def delete_template(
    uow: UnitOfWork,
    actor: Agent | None,
    name: str,
    now: datetime,
    parse: PlaybookParser | None = None,
) -> None:
    """Delete a template, unless the live playbook auto-acknowledges with it (`parse` reads the
    live version; without it that check is skipped): the playbook would then fail on every
    message its rule matches, and a saved version must name only templates that exist."""
    with uow:
        template = uow.templates.find(name)
        if template is None or template.id is None:
            raise NotFound(f"there is no template named {name!r}")
        live = uow.playbooks.live() if parse is not None else None
        if parse is not None and live is not None:
            uses = parse(live.source, f"v{live.version}").references().templates.get(name, ())
            if uses:
                raise Conflict(
                    f"the live playbook (version {live.version}) uses template {name!r} in "
                    + ", ".join(str(u) for u in uses)
                    + "; save a playbook without it first",
                    field="name",
                )
        uow.templates.delete(template.id)
        uow.events.append([_changed(actor, name, template.body, None, now)])
        uow.commit()


def _changed(
    actor: Agent | None, name: str, before: str | None, after: str | None, now: datetime
) -> SettingsChanged:
    return settings_changed(
        now=now,
        actor_id=actor.id if actor else None,
        subject="template",
        subject_id=name,
        before=None if before is None else {"body": before},
        after=None if after is None else {"body": after},
    )


def render_for(
    uow: UnitOfWork,
    name: str,
    conversation_id: int,
    agent: Agent | None,
    capabilities: Callable[[str], PlatformCapabilities] = capabilities_for,
    extra: Mapping[str, str | None] | None = None,
) -> Rendered:
    """The template filled in for one conversation, with its length against the platform's
    limit (inside an open unit of work: reads only). `extra` fills variables only some senders
    know (`survey.link`)."""
    template = uow.templates.find(name)
    if template is None:
        raise NotFound(f"there is no template named {name!r}")
    conversation = uow.conversations.get(conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    customer = uow.customers.get(conversation.customer_id)
    identity = uow.identities.get(conversation.identity_id) if conversation.identity_id else None
    channel = uow.channels.get(conversation.channel_id)
    handle = identity.handle if identity else None
    name_of_customer = (customer.name if customer else None) or (
        identity.display_name if identity else None
    )
    text = render(
        template.body,
        {
            "customer.name": name_of_customer or handle,
            "customer.first_name": first_name(name_of_customer) or handle,
            "customer.handle": handle,
            "agent.name": agent.name if agent else None,
            "agent.first_name": first_name(agent.name) if agent else None,
            "conversation.id": str(conversation_id),
            "channel.name": channel.name if channel else None,
            "brand.name": channel.name.lstrip("@") if channel else None,
            **(extra or {}),
        },
    )
    if not text:
        raise InvalidInput(f"template {name!r} renders to nothing for this conversation")
    caps = capabilities(conversation.platform)
    return Rendered(name, text, len(text), caps.max_length, fits(text, caps))
