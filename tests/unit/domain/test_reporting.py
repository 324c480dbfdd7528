"""Reporting facts of one conversation, against times worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from socialdesk.domain.calendars import BusinessCalendar
from socialdesk.domain.reporting import (
    FIRST,
    NEXT,
    ConversationFacts,
    RecordedMessage,
    facts_of,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def conversation(**changes: object) -> ConversationFacts:
    values: dict[str, object] = {
        "id": 1,
        "opened_at": at(0),
        "platform": "x",
        "channel_id": 1,
        "team_id": None,
        "assignee_id": None,
        "intent": None,
        "suppressed": False,
        "closed_at": None,
        "business_time": lambda a, b: max(b - a, timedelta(0)),
        "first_target": timedelta(hours=1),
        "next_target": timedelta(minutes=30),
    }
    values.update(changes)
    return ConversationFacts(**values)  # type: ignore[arg-type]


def inbound(
    id: int, minutes: float, sentiment: str = "neutral", needs: bool = True
) -> RecordedMessage:
    return RecordedMessage(id, at(minutes), "inbound", sentiment=sentiment, needs_response=needs)


def reply(id: int, minutes: float, agent: int | None = 7, auto: bool = False) -> RecordedMessage:
    return RecordedMessage(id, at(minutes), "outbound", agent_id=agent, auto_ack=auto)


def test_first_and_next_responses_are_timed_from_the_start_of_each_wait() -> None:
    record = [
        inbound(1, 0, "negative"),
        inbound(2, 10, "negative"),  # same wait: the clock runs from minute 0
        reply(3, 25),  # first response: 25 min, answers 1 and 2
        inbound(4, 40, "neutral"),
        reply(5, 80),  # next response: 40 min, misses the 30 min target
        reply(6, 85),  # nobody was waiting: not a response
        inbound(7, 90, "positive", needs=False),
    ]
    facts, whole = facts_of(conversation(), record)
    by_id = {f.message_id: f for f in facts}
    assert [f.message_id for f in facts] == [1, 2, 3, 4, 5, 6, 7]
    assert (by_id[3].response_kind, by_id[3].response_seconds, by_id[3].sla_met) == (
        FIRST,
        1500,
        True,
    )
    assert (by_id[5].response_kind, by_id[5].response_seconds, by_id[5].sla_met) == (
        NEXT,
        2400,
        False,
    )
    assert by_id[6].response_kind is None
    assert by_id[6].engaged
    assert by_id[1].responded_at == by_id[2].responded_at == at(25)
    assert by_id[4].responded_at == at(80)
    assert by_id[7].responded_at is None
    assert by_id[7].engaged
    assert not by_id[1].engaged
    assert whole.engaged_at == at(25)
    assert (whole.sentiment_before, whole.sentiment_after) == ("negative", "positive")


def test_an_auto_acknowledgement_neither_answers_nor_engages() -> None:
    facts, whole = facts_of(
        conversation(), [inbound(1, 0), reply(2, 1, agent=None, auto=True), reply(3, 50)]
    )
    ack, answer = facts[1], facts[2]
    assert ack.auto_ack
    assert ack.response_kind is None
    assert (answer.response_kind, answer.response_seconds) == (FIRST, 3000)
    assert facts[0].responded_at == at(50)
    assert whole.engaged_at == at(50)


def test_the_record_may_arrive_in_any_order() -> None:
    record = [reply(3, 25), inbound(2, 10), inbound(1, 0)]
    facts, _ = facts_of(conversation(), record)
    assert [f.message_id for f in facts] == [1, 2, 3]
    assert facts[2].response_seconds == 1500


def test_business_time_and_resolution_come_from_the_conversations_calendar() -> None:
    calendar = BusinessCalendar.from_spec(
        "office", "UTC", {"mon-fri": ["09:00-17:00"]}, holidays=frozenset()
    )
    friday_evening = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)
    monday_morning = datetime(2026, 3, 9, 9, 45, tzinfo=UTC)
    facts, whole = facts_of(
        conversation(
            opened_at=friday_evening,
            business_time=calendar.business_time_between,
            closed_at=monday_morning + timedelta(hours=1),
        ),
        [
            RecordedMessage(1, friday_evening, "inbound", sentiment="negative"),
            RecordedMessage(2, monday_morning, "outbound", agent_id=7),
        ],
    )
    answer = facts[1]
    assert answer.response_seconds == (monday_morning - friday_evening).total_seconds()
    assert answer.response_business_seconds == 75 * 60  # 30 min on Friday + 45 min on Monday
    assert answer.sla_met is False  # 75 business minutes against a 1 hour target
    assert whole.resolution_seconds == round(
        (monday_morning + timedelta(hours=1) - friday_evening).total_seconds()
    )
    assert whole.resolution_business_seconds == 135 * 60
    assert (whole.sentiment_before, whole.sentiment_after) == ("negative", None)


def test_no_target_means_no_verdict_and_an_unanswered_conversation_has_no_engagement() -> None:
    facts, whole = facts_of(conversation(first_target=None), [inbound(1, 0), reply(2, 5)])
    assert facts[1].sla_met is None
    facts, whole = facts_of(conversation(), [inbound(1, 0, "negative"), inbound(2, 3, "neutral")])
    assert whole.engaged_at is None
    assert whole.sentiment_before == "neutral"
    assert all(f.responded_at is None for f in facts)


def test_an_empty_record_keeps_the_conversations_opening() -> None:
    facts, whole = facts_of(conversation(), [])
    assert facts == []
    assert whole.opened_at == at(0)
    assert whole.engaged_at is None
