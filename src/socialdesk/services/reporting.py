"""The reporting job: keeps the reporting facts in step with the permanent record.

It reads new messages (and the events that change how a conversation is reported: close, reopen,
assignment, suppression) after its cursors, and recomputes the facts of each conversation they
touch from the whole record (domain/reporting.py), in one transaction with the cursors. So the
facts are exact whatever the order things arrived in, and a crash between passes loses nothing
and counts nothing twice. Customer messages wait for triage and the playbook (their sentiment,
needs-response verdict and suppression) unless they have waited longer than `UNPLAYED_GRACE`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from socialdesk.domain.conversations import Conversation, Status
from socialdesk.domain.reporting import (
    ConversationFact,
    ConversationFacts,
    MessageFact,
    facts_of,
)
from socialdesk.domain.rollups import (
    Contributions,
    Cuts,
    add_counts,
    contributions,
    difference,
    with_days,
)
from socialdesk.domain.sla import ResponseTargets
from socialdesk.services.ports import AnalyticsUnitOfWork, AnalyticsUnitOfWorkFactory, Holidays
from socialdesk.services.sla import PolicyBook, flat_policy

BATCH = 500
REBUILD_CHUNK = 2_000  # conversations read at a time by `rebuild`
REBUILD_FLUSH = 200_000  # rollup rows held in memory by `rebuild` before they are written
UNPLAYED_GRACE = timedelta(minutes=30)
MESSAGES = "messages"
EVENTS = "events"


def project(
    uow: AnalyticsUnitOfWorkFactory,
    holidays: Holidays,
    *,
    targets: ResponseTargets,
    now: datetime,
    batch: int = BATCH,
) -> int:
    """One pass over up to `batch` new messages and `batch` new events; returns how many rows
    were read (fewer than `batch` of each: caught up)."""
    with uow() as unit:
        after_message = unit.reporting.cursor(MESSAGES)
        after_event = unit.reporting.cursor(EVENTS)
        by_messages, last_message, messages = unit.reporting.changed_by_messages(
            after_message, batch, now - UNPLAYED_GRACE
        )
        by_events, last_event, events = unit.reporting.changed_by_events(after_event, batch)
        changed = sorted(by_messages | by_events)
        book = PolicyBook(unit, holidays, now, flat_policy(targets))
        refresh(unit, book, changed)
        unit.reporting.set_cursor(MESSAGES, last_message)
        unit.reporting.set_cursor(EVENTS, last_event)
        unit.commit()
    return max(messages, events)


Computed = list[tuple[ConversationFacts, list[MessageFact], ConversationFact]]


def refresh(unit: AnalyticsUnitOfWork, book: PolicyBook, conversation_ids: Sequence[int]) -> None:
    """Write the facts of these conversations again from their whole records, and move the
    hourly rollups by the difference between what they contributed before and now."""
    computed = _computed(unit, book, conversation_ids)
    previous = unit.reporting.previous([facts.id for facts, _, _ in computed])
    delta: Contributions = {}
    for facts, messages, whole in computed:
        new = contributions(cuts_of(facts), messages, whole)
        old = contributions(*previous[facts.id]) if facts.id in previous else {}
        _merge(delta, difference(new, old))
    unit.reporting.replace(computed)
    unit.reporting.add_to_rollups(with_days(delta))


def rebuild(
    uow: AnalyticsUnitOfWorkFactory,
    holidays: Holidays,
    *,
    targets: ResponseTargets,
    now: datetime,
    chunk: int = REBUILD_CHUNK,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Compute every conversation's facts and the rollups again from the permanent record, as
    the job would but in bulk: after an import of millions of messages, after a change of what a
    metric means, or to check the rollups. The rollups are summed in memory (no reads, one insert
    per row) and the cursors move to where the job would have got to, so the job goes on from
    there; all in one transaction that holds the cursors, so a worker's job waits for it.
    `on_progress(done, total)` hears after each chunk. Returns how many conversations were
    reported."""
    with uow() as unit:
        store = unit.reporting
        store.cursor(MESSAGES)  # held until the commit
        store.cursor(EVENTS)
        last_message, last_event = store.ends(now - UNPLAYED_GRACE)
        store.clear()
        book = PolicyBook(unit, holidays, now, flat_policy(targets))
        total = store.conversation_count()
        delta: Contributions = {}
        done = after = 0
        while ids := store.conversation_ids(after, chunk):
            computed = _computed(unit, book, ids)
            store.replace(computed)
            for facts, messages, whole in computed:
                _merge(delta, contributions(cuts_of(facts), messages, whole))
            if len(delta) >= REBUILD_FLUSH:
                store.hold_for_rollups(with_days(delta))
                delta = {}
            after = ids[-1]
            done += len(ids)
            if on_progress is not None:
                on_progress(done, total)
        store.hold_for_rollups(with_days(delta))
        store.add_held_rollups()
        store.set_cursor(MESSAGES, last_message)
        store.set_cursor(EVENTS, last_event)
        unit.commit()
    return done


def _computed(
    unit: AnalyticsUnitOfWork, book: PolicyBook, conversation_ids: Sequence[int]
) -> Computed:
    conversations = unit.reporting.conversations(conversation_ids)
    records = unit.reporting.records(list(conversations))
    computed: Computed = []
    for conversation_id, conversation in conversations.items():
        facts = conversation_facts(conversation, book)
        messages, whole = facts_of(facts, records[conversation_id])
        computed.append((facts, messages, whole))
    return computed


def _merge(into: Contributions, change: Contributions) -> None:
    for key, counts in change.items():
        add_counts(into, (key,), counts)


def cuts_of(facts: ConversationFacts) -> Cuts:
    return Cuts(
        platform=facts.platform,
        channel_id=facts.channel_id,
        team_id=facts.team_id,
        assignee_id=facts.assignee_id,
        intent=facts.intent,
        suppressed=facts.suppressed,
        tags=facts.tags,
    )


def conversation_facts(conversation: Conversation, book: PolicyBook) -> ConversationFacts:
    assert conversation.id is not None
    policy = book.for_conversation(conversation)
    target = policy.target_for(conversation.priority, conversation.platform)
    return ConversationFacts(
        id=conversation.id,
        opened_at=conversation.created_at,
        platform=conversation.platform,
        channel_id=conversation.channel_id,
        team_id=conversation.team_id,
        assignee_id=conversation.assignee_id,
        intent=conversation.intent,
        suppressed=conversation.suppressed_reason is not None,
        closed_at=conversation.closed_at if conversation.status is Status.CLOSED else None,
        business_time=policy.calendar.business_time_between,
        first_target=target.first_response if target else None,
        next_target=target.next_response if target else None,
        tags=tuple(sorted(conversation.tags)),
    )
