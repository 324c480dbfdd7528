"""Reporting facts: what one conversation's record says for the metrics (docs/metrics.md).

Pure: the reporting job hands over a conversation's messages (the permanent record, in any
order) and the few things about the conversation that the metrics are cut by; this module
returns one fact per customer message and per brand reply, and one fact for the conversation.
The facts are recomputed from the whole record whenever the conversation changes, so history
imported out of order, a reassignment or a reopen all give the same numbers as if they had
happened live, and running the job twice changes nothing.

Definitions, in one place:
- A *reply* is an outbound message written by a person (or imported from the platform as the
  brand's); an automatic acknowledgement is outbound but not a reply: it neither answers the
  customer nor starts the engagement.
- A customer is *waiting* from their first message after the brand's previous reply. The reply
  that ends a wait is a *response*: the *first* response when the brand had not replied in the
  conversation before, else a *next* response; its time is the reply's time minus the wait's
  start, in calendar time and in the business time of the conversation's SLA calendar.
- Every customer message in a wait is *responded* at the reply that ends the wait.
- *Engagement* is the first reply; customer messages after it are *engaged*. The sentiment
  *before* is that of the last customer message before engagement, *after* that of the last one
  after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

INBOUND = "inbound"
OUTBOUND = "outbound"
FIRST = "first"
NEXT = "next"


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    """A message as reporting needs it (notes are not given: they are not in the record the
    customer sees)."""

    id: int
    at: datetime
    direction: str  # inbound | outbound
    agent_id: int | None = None
    sentiment: str | None = None
    needs_response: bool = False
    auto_ack: bool = False


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """What the metrics are cut by, as the conversation stands, and how to count its time."""

    id: int
    opened_at: datetime
    platform: str
    channel_id: int
    team_id: int | None
    assignee_id: int | None
    intent: str | None
    suppressed: bool
    closed_at: datetime | None  # when closed now
    business_time: Callable[[datetime, datetime], timedelta]
    first_target: timedelta | None  # in business time; None: no promise
    next_target: timedelta | None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MessageFact:
    message_id: int
    at: datetime
    direction: str
    agent_id: int | None
    sentiment: str | None
    needs_response: bool
    engaged: bool
    auto_ack: bool
    responded_at: datetime | None = None
    response_kind: str | None = None
    response_seconds: int | None = None
    response_business_seconds: int | None = None
    sla_met: bool | None = None


@dataclass(frozen=True, slots=True)
class ConversationFact:
    opened_at: datetime
    engaged_at: datetime | None
    sentiment_before: str | None
    sentiment_after: str | None
    closed_at: datetime | None
    resolution_seconds: int | None
    resolution_business_seconds: int | None


def _seconds(span: timedelta) -> int:
    return max(0, round(span.total_seconds()))


def facts_of(
    conversation: ConversationFacts, record: Iterable[RecordedMessage]
) -> tuple[list[MessageFact], ConversationFact]:
    """One fact per message of the record (in time order) and the conversation's own fact."""
    messages = sorted(record, key=lambda m: (m.at, m.id))
    facts: list[MessageFact] = []
    waiting: list[int] = []  # indexes in `facts` of the customer messages in the current wait
    engaged_at: datetime | None = None
    before: str | None = None
    after: str | None = None
    for message in messages:
        if message.direction == INBOUND:
            if engaged_at is None:
                before = message.sentiment or before
            else:
                after = message.sentiment or after
            waiting.append(len(facts))
            facts.append(_inbound(message, engaged=engaged_at is not None))
            continue
        if message.auto_ack:
            facts.append(_outbound(message))
            continue
        if waiting:
            start = facts[waiting[0]].at
            kind = FIRST if engaged_at is None else NEXT
            target = conversation.first_target if kind == FIRST else conversation.next_target
            business = conversation.business_time(start, message.at)
            facts.append(
                MessageFact(
                    message_id=message.id,
                    at=message.at,
                    direction=OUTBOUND,
                    agent_id=message.agent_id,
                    sentiment=None,
                    needs_response=False,
                    engaged=engaged_at is not None,
                    auto_ack=False,
                    response_kind=kind,
                    response_seconds=_seconds(message.at - start),
                    response_business_seconds=_seconds(business),
                    sla_met=None if target is None else business <= target,
                )
            )
            for index in waiting:
                facts[index] = replace(facts[index], responded_at=message.at)
            waiting = []
        else:
            facts.append(_outbound(message, engaged=engaged_at is not None))
        if engaged_at is None:
            engaged_at = message.at
    closed = conversation.closed_at
    opened = min(conversation.opened_at, messages[0].at) if messages else conversation.opened_at
    return facts, ConversationFact(
        opened_at=opened,
        engaged_at=engaged_at,
        sentiment_before=before,
        sentiment_after=after,
        closed_at=closed,
        resolution_seconds=None if closed is None else _seconds(closed - opened),
        resolution_business_seconds=None
        if closed is None
        else _seconds(conversation.business_time(opened, closed)),
    )


def _inbound(message: RecordedMessage, *, engaged: bool) -> MessageFact:
    return MessageFact(
        message_id=message.id,
        at=message.at,
        direction=INBOUND,
        agent_id=None,
        sentiment=message.sentiment,
        needs_response=message.needs_response,
        engaged=engaged,
        auto_ack=False,
    )


def _outbound(message: RecordedMessage, *, engaged: bool = False) -> MessageFact:
    return MessageFact(
        message_id=message.id,
        at=message.at,
        direction=OUTBOUND,
        agent_id=message.agent_id,
        sentiment=None,
        needs_response=False,
        engaged=engaged,
        auto_ack=message.auto_ack,
    )
