"""An agent's own things: mentions in colleagues' notes, follow-up reminders, saved inbox views.

Mentions are found when a note is written (`notices_for_note`, called by `add_note` inside its
transaction), so a colleague sees "@sam" the moment the note exists, never a note without it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from socialdesk.domain.agents import Agent
from socialdesk.domain.errors import InvalidInput, NotFound
from socialdesk.domain.messages import Message
from socialdesk.domain.notices import (
    MAX_NOTICE,
    MENTION,
    REMINDER,
    Notice,
    SavedView,
    excerpt,
    mentioned_names,
    team_handle,
)
from socialdesk.domain.text import text_problem
from socialdesk.services.ports import UnitOfWork

MAX_VIEW_NAME = 100
MAX_QUERY = 2000


def notices_for_note(unit: UnitOfWork, note: Message, author: Agent, now: datetime) -> list[Notice]:
    """A notice for every agent @-mentioned by username, and for every member of a team
    @-mentioned by its name (spaces as '-'); not for the author."""
    names = mentioned_names(note.text)
    if not names or note.conversation_id is None:
        return []
    recipients: dict[int, str] = {}
    for name in names:
        agent = unit.agents.find(name)
        if agent is not None and agent.active and agent.id is not None:
            recipients.setdefault(agent.id, f"@{agent.username}")
    wanted = set(names)
    for team in unit.teams.list_all():
        if team.id is not None and team_handle(team.name) in wanted:
            for member in unit.agents.in_team(team.id):
                if member.id is not None:
                    recipients.setdefault(member.id, f"@{team_handle(team.name)}")
    recipients.pop(author.id or -1, None)
    notices = [
        Notice(
            agent_id=agent_id,
            kind=MENTION,
            conversation_id=note.conversation_id,
            message_id=note.id,
            text=excerpt(f"{author.name} mentioned {how}: {note.text}", MAX_NOTICE),
            due_at=now,
            created_at=now,
        )
        for agent_id, how in recipients.items()
    ]
    unit.notices.add_many(notices)
    return notices


def remind(
    uow: UnitOfWork,
    agent: Agent,
    conversation_id: int,
    at: datetime,
    text: str,
    now: datetime,
) -> Notice:
    """A follow-up reminder for the agent, shown among their notices when it comes due."""
    if at <= now:
        raise InvalidInput("a reminder must be in the future", field="at")
    if at - now > timedelta(days=366):
        raise InvalidInput("a reminder is at most a year ahead", field="at")
    text = text.strip() or "follow up"
    if len(text) > MAX_NOTICE or text_problem(text):
        raise InvalidInput(
            f"a reminder's text has 1-{MAX_NOTICE} printable characters", field="text"
        )
    assert agent.id is not None
    with uow:
        if uow.conversations.get(conversation_id) is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        notice = Notice(
            agent_id=agent.id,
            kind=REMINDER,
            conversation_id=conversation_id,
            text=text,
            due_at=at,
            created_at=now,
        )
        uow.notices.add_many([notice])
        uow.commit()
    return notice


def read_notices(uow: UnitOfWork, agent: Agent, notice_ids: Collection[int], now: datetime) -> int:
    assert agent.id is not None
    with uow:
        marked = uow.notices.mark_read(agent.id, notice_ids, now)
        uow.commit()
    return marked


def save_view(uow: UnitOfWork, agent: Agent, name: str, query: str, now: datetime) -> SavedView:
    """Keep an inbox filter under a name (replacing one of that name)."""
    name = name.strip()
    if not name or len(name) > MAX_VIEW_NAME or text_problem(name):
        raise InvalidInput(
            f"a view's name has 1-{MAX_VIEW_NAME} printable characters", field="name"
        )
    query = query.strip().lstrip("?")
    if len(query) > MAX_QUERY or (query and text_problem(query)):
        raise InvalidInput("the view's filter is not valid", field="query")
    assert agent.id is not None
    view = SavedView(agent.id, name, query, now)
    with uow:
        uow.saved_views.save(view)
        uow.commit()
    return view


def delete_view(uow: UnitOfWork, agent: Agent, name: str) -> None:
    assert agent.id is not None
    with uow:
        if not uow.saved_views.delete(agent.id, name):
            raise NotFound(f"you have no view named {name!r}")
        uow.commit()
