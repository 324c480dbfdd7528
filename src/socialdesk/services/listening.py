"""Listening: the desk's saved queries (created, changed, switched off and deleted by supervisors),
and every public inbound post matched against the active ones.

Where matching happens. A post is matched in the triage job's write transaction, right after it
is triaged (the worker passes `listen` as `triage_pending(..., then=...)`):

- matching needs what triage found: the language (`lang:` reads it) and the sentiment (a negative
  match counts towards a query's negative share, which spike detection watches);
- it must be done before the live playbook sees the message, so that a rule with
  `listening_query: <name>` can act on it. The playbook job claims only triaged messages, so
  matching in the transaction that stores the triage makes "triaged" mean "matched": no flag, no
  queue of its own, and a crash rolls both back together.

The same step counts the batch's public posts per hour and intent (`post_hours`): the spike job
reads weeks of them for the brand and each intent without scanning the messages.

What a match leaves: a `listening_matches` row (the query, the message, the post's time, whether
triage found it negative), counted per query over time by the pages, the API and the spike job;
the query names in `messages.meta["listening_queries"]`, which the playbook's facts read
(`Facts.listening_queries`); and the conversation's tag `listening:<name slug>`, written with a
ConversationTagged event as a tag from a person or a rule is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

from socialdesk.domain.agents import Agent
from socialdesk.domain.conversations import Conversation
from socialdesk.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from socialdesk.domain.events import ConversationTagged, Event, ListeningQueryChanged
from socialdesk.domain.listening import (
    Post,
    Query,
    SavedQuery,
    StoredPost,
    check_name,
    parse_query,
    prepare,
)
from socialdesk.domain.text import text_problem
from socialdesk.domain.triage import TextSignals
from socialdesk.services.ports import AnalyticsUnitOfWork, AnalyticsUnitOfWorkFactory
from socialdesk.services.triage import Triaged

MATCHED = "listening_queries"  # the key of `messages.meta` the playbook's facts read


# -- saved queries ------------------------------------------------------------------------------


def check_query(text: str) -> str:
    """The query as it will be stored (blank space around it dropped), or the error that says
    what is wrong and where: a QueryError's `position` counts characters of `text` as typed."""
    problem = text_problem(text)
    if problem is not None:
        raise InvalidInput(f"the query {problem}", field="query")
    parse_query(text)
    return text.strip()


def create_query(
    uow: AnalyticsUnitOfWorkFactory,
    actor: Agent | None,
    name: str,
    text: str,
    now: datetime,
    *,
    active: bool = True,
) -> SavedQuery:
    """Store a new query, matched against posts from now on (earlier posts are not searched)."""
    name, text = check_name(name), check_query(text)
    with uow() as unit:
        _check_free(unit, name, None)
        query = SavedQuery(
            name=name,
            query=text,
            active=active,
            created_at=now,
            updated_at=now,
            author_id=actor.id if actor else None,
        )
        unit.listening.add_query(query)
        unit.events.append([_changed(query, "created", actor, now)])
        unit.commit()
    return query


def update_query(
    uow: AnalyticsUnitOfWorkFactory,
    actor: Agent | None,
    query_id: int,
    now: datetime,
    *,
    name: str | None = None,
    text: str | None = None,
    active: bool | None = None,
) -> SavedQuery:
    """Change the name, the query or whether it is active (what is not given stays). Matches
    already recorded stay as they were; a new name tags new matches with the new slug."""
    name = check_name(name) if name is not None else None
    text = check_query(text) if text is not None else None
    with uow() as unit:
        query = _load(unit, query_id)
        if name is not None and name != query.name:
            _check_free(unit, name, query_id)
            query.name = name
        if text is not None:
            query.query = text
        if active is not None:
            query.active = active
        query.updated_at = now
        unit.listening.update_query(query)
        unit.events.append([_changed(query, "updated", actor, now)])
        unit.commit()
    return query


def delete_query(
    uow: AnalyticsUnitOfWorkFactory, actor: Agent | None, query_id: int, now: datetime
) -> None:
    """Delete the query and the record of what it matched (to keep the counts, switch it off
    instead). Tags already on conversations and alerts that name it stay."""
    with uow() as unit:
        query = _load(unit, query_id)
        unit.listening.delete_query(query_id)
        unit.events.append(
            [
                ListeningQueryChanged(
                    occurred_at=now,
                    actor_agent_id=actor.id if actor else None,
                    query_id=query_id,
                    query_name=query.name,
                    change="deleted",
                )
            ]
        )
        unit.commit()


def _load(unit: AnalyticsUnitOfWork, query_id: int) -> SavedQuery:
    query = unit.listening.get_query(query_id, for_update=True)
    if query is None:
        raise NotFound(f"listening query {query_id} does not exist")
    return query


def _check_free(unit: AnalyticsUnitOfWork, name: str, own_id: int | None) -> None:
    """Names are unique in any case: playbook rules and tags compare them case-insensitively."""
    found = unit.listening.find_query(name)
    if found is not None and found.id != own_id:
        raise Conflict(
            f"a listening query named {found.name!r} exists already; choose another name",
            field="name",
        )


def _changed(query: SavedQuery, change: str, actor: Agent | None, now: datetime) -> Event:
    assert query.id is not None
    return ListeningQueryChanged(
        occurred_at=now,
        actor_agent_id=actor.id if actor else None,
        query_id=query.id,
        query_name=query.name,
        change=change,
        query=query.query,
        active=query.active,
    )


# -- matching -----------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _compiled(text: str) -> Query | None:
    """The parsed query (kept: the same few texts are matched batch after batch); None for a
    stored text that no longer parses, which then matches nothing rather than stopping triage."""
    try:
        return parse_query(text)
    except DomainError:
        return None


def listen(unit: AnalyticsUnitOfWork, triaged: Sequence[Triaged], now: datetime) -> int:
    """What listening does with a triaged batch, inside the triage job's unit (see the module
    docstring): count its public posts per hour and intent (the spike job's baseline for the
    brand and each intent), and match them against the active queries. Returns the matches."""
    signals = {item.message_id: item.signals for item in triaged}
    posts = unit.listening.public_posts(list(signals))
    counts: dict[tuple[datetime, str], list[int]] = defaultdict(lambda: [0, 0])
    for post in posts:
        found = signals[post.message_id]
        hour = post.created_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        count = counts[hour, found.intent or ""]
        count[0] += 1
        count[1] += found.sentiment == "negative"
    unit.listening.count_posts([(h, intent, n, neg) for (h, intent), (n, neg) in counts.items()])
    return _match(unit, posts, signals, now)


def _match(
    unit: AnalyticsUnitOfWork,
    posts: Sequence[StoredPost],
    signals: dict[int, TextSignals],
    now: datetime,
) -> int:
    queries = [
        (saved, query)
        for saved in unit.listening.active_queries()
        if (query := _compiled(saved.query)) is not None
    ]
    if not queries or not posts:
        return 0
    matches: list[tuple[int, int, datetime, bool]] = []
    metas = []
    tags: dict[int, list[str]] = defaultdict(list)
    for post in posts:
        found = signals[post.message_id]
        prepared = prepare(Post(post.text, post.author_handle, found.language, post.platform))
        hits = [saved for saved, query in queries if query.matches(prepared)]
        if not hits:
            continue
        negative = found.sentiment == "negative"
        matches.extend((q.id or 0, post.message_id, post.created_at, negative) for q in hits)
        metas.append((post.message_id, {**post.meta, MATCHED: [q.name for q in hits]}))
        tags[post.conversation_id].extend(q.tag for q in hits)
    unit.listening.add_matches(matches)
    unit.listening.set_meta(metas)
    _tag(unit, tags, now)
    return len(matches)


def _tag(unit: AnalyticsUnitOfWork, tags: dict[int, list[str]], now: datetime) -> None:
    """Tag the conversations as `Conversation.retag` decides, with a ConversationTagged event
    each, in a few statements for the whole batch (a broad query may match most posts)."""
    conversations = unit.conversations.get_many(list(tags))
    existing = unit.listening.conversation_tags(list(tags))
    changed: list[Conversation] = []
    added_pairs: list[tuple[int, str]] = []
    events: list[Event] = []
    for conversation_id, wanted in sorted(tags.items()):
        conversation = conversations.get(conversation_id)
        if conversation is None:
            continue
        conversation.tags = list(existing.get(conversation_id, []))
        added, removed = conversation.retag(wanted, [], now)
        if added:
            changed.append(conversation)
            added_pairs.extend((conversation_id, tag) for tag in added)
            events.append(
                ConversationTagged(
                    occurred_at=now, conversation_id=conversation_id, added=added, removed=removed
                )
            )
    unit.listening.add_conversation_tags(added_pairs)
    unit.conversations.update_many(changed)
    unit.events.append(events)
