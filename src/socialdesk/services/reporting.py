"""The reporting job: keeps the reporting facts in step with the permanent record.

It reads new messages (and the events that change how a conversation is reported: close, reopen,
assignment, suppression) after its cursors, and recomputes the facts of each conversation they
touch from the whole record (domain/reporting.py), in one transaction with the cursors. So the
facts are exact whatever the order things arrived in, and a crash between passes loses nothing
and counts nothing twice. Customer messages wait for triage and the playbook (their sentiment,
needs-response verdict and suppression) unless they have waited longer than `UNPLAYED_GRACE`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from socialdesk.domain.conversations import Conversation, Status
from socialdesk.domain.reporting import ConversationFacts, facts_of
from socialdesk.domain.rollups import Contributions, Cuts, contributions, difference
from socialdesk.domain.sla import ResponseTargets
from socialdesk.services.ports import AnalyticsUnitOfWork, AnalyticsUnitOfWorkFactory, Holidays
from socialdesk.services.sla import PolicyBook, flat_policy

BATCH = 500
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


def refresh(unit: AnalyticsUnitOfWork, book: PolicyBook, conversation_ids: Sequence[int]) -> None:
    """Write the facts of these conversations again from their whole records, and move the
    hourly rollups by the difference between what they contributed before and now."""
    conversations = unit.reporting.conversations(conversation_ids)
    records = unit.reporting.records(list(conversations))
    previous = unit.reporting.previous(list(conversations))
    computed = []
    delta: Contributions = {}
    for conversation_id, conversation in conversations.items():
        facts = conversation_facts(conversation, book)
        messages, whole = facts_of(facts, records[conversation_id])
        computed.append((facts, messages, whole))
        new = contributions(cuts_of(facts), messages, whole)
        old = contributions(*previous[conversation_id]) if conversation_id in previous else {}
        for key, change in difference(new, old).items():
            delta.setdefault(key, Counter()).update(change)
    unit.reporting.replace(computed)
    unit.reporting.add_to_rollups(delta)


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
