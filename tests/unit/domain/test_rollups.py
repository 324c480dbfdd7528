"""Hourly rollups of one conversation's facts: keys, counters, histograms, differences."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from socialdesk.domain.reporting import ConversationFact, MessageFact
from socialdesk.domain.rollups import (
    ALL,
    DAY,
    HOUR,
    RATIO,
    TOTAL,
    Cuts,
    RowKey,
    bucket_of,
    bucket_value,
    contributions,
    difference,
    with_days,
)
from socialdesk.queries.rollups import percentiles

T0 = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
CUTS = Cuts("x", 1, 2, 7, "billing", False, ("refund", "vip"))


def fact(minutes: int, direction: str, **fields: object) -> MessageFact:
    values: dict[str, object] = {
        "message_id": minutes,
        "at": T0 + timedelta(minutes=minutes),
        "direction": direction,
        "agent_id": 9 if direction == "outbound" else None,
        "sentiment": "negative" if direction == "inbound" else None,
        "needs_response": direction == "inbound",
        "engaged": False,
        "auto_ack": False,
    }
    values.update(fields)
    return MessageFact(**values)  # type: ignore[arg-type]


WHOLE = ConversationFact(T0, T0 + timedelta(minutes=20), "negative", "positive", None, None, None)


def test_buckets_are_five_percent_wide_and_their_middle_is_close() -> None:
    assert bucket_of(0) == 0
    for seconds in (1, 59, 60, 1200, 3600, 86_400 * 30):
        middle = bucket_value(bucket_of(seconds))
        assert abs(middle - seconds) / seconds <= (RATIO - 1)
    assert bucket_of(100) != bucket_of(106)


def test_each_fact_counts_once_in_all_and_in_each_dimension_and_tag() -> None:
    found = contributions(
        CUTS,
        [
            fact(0, "inbound", responded_at=T0 + timedelta(minutes=20)),
            fact(
                20,
                "outbound",
                response_kind="first",
                response_seconds=1200,
                response_business_seconds=600,
                sla_met=True,
            ),
        ],
        WHOLE,
    )
    nine = T0.replace(minute=0)
    assert found[RowKey(nine, ALL, "", "x")] == Counter(
        first_responses=1,
        inbound=1,
        negative=1,
        needing=1,
        responded=1,
        outbound=1,
        first_met=1,
        first_judged=1,
        opened=1,
        engaged=1,
        before_negative=1,
        after_positive=1,
        turned=1,
        turn_base=1,
        **{f"first:{bucket_of(1200)}": 1, f"first_b:{bucket_of(600)}": 1},
    )
    dimensions = {ALL, "channel", "team", "agent", "intent", "tag"}
    assert {k.dimension for k in found} == {TOTAL, *dimensions}
    # Every row is split by the platform, but the whole desk's unsplit one.
    assert {k.platform for k in found if k.dimension != TOTAL} == {"x"}
    assert found[RowKey(nine, TOTAL, "", "")] == found[RowKey(nine, ALL, "", "x")]
    agents = {k.value: c for k, c in found.items() if k.dimension == "agent"}
    assert agents["7"]["inbound"] == 1  # a customer message counts for the assignee
    assert agents["9"]["outbound"] == 1  # a reply for its author
    assert {k.value for k in found if k.dimension == "tag"} == {"refund", "vip"}


def test_a_suppressed_conversations_messages_are_counted_apart() -> None:
    quiet = Cuts("x", 1, None, None, None, True, ())
    found = contributions(quiet, [fact(0, "inbound")], WHOLE)
    row = found[RowKey(T0.replace(minute=0), ALL, "", "x")]
    assert (row["suppressed"], row["needing"]) == (1, 0)
    assert found[RowKey(T0.replace(minute=0), "team", "", "x")]["suppressed"] == 1


def test_the_difference_moves_counts_from_the_old_agent_to_the_new() -> None:
    old = contributions(CUTS, [fact(0, "inbound")], WHOLE)
    moved = Cuts("x", 1, 2, 8, "billing", False, ("refund", "vip"))
    new = contributions(moved, [fact(0, "inbound")], WHOLE)
    delta = difference(new, old)
    nine = T0.replace(minute=0)
    was, now = RowKey(nine, "agent", "7", "x"), RowKey(nine, "agent", "8", "x")
    assert delta == {was: Counter({k: -v for k, v in old[was].items()}), now: new[now]}
    assert difference(old, old) == {}
    day = T0.replace(hour=0, minute=0)
    assert with_days(delta) == {
        **delta,
        RowKey(day, "agent", "7", "x", DAY): delta[was],
        RowKey(day, "agent", "8", "x", DAY): delta[now],
    }


def test_the_day_rows_are_the_sums_of_their_hours_and_a_move_within_a_day_leaves_it() -> None:
    found = contributions(CUTS, [fact(0, "inbound"), fact(90, "inbound")], WHOLE)
    assert all(k.span == HOUR for k in found)
    rows = with_days(found)
    day = RowKey(T0.replace(hour=0, minute=0), ALL, "", "x", DAY)
    assert rows[day]["inbound"] == 2  # 09:15 and 10:45: one row each hour, one for the day
    hours = [k for k in rows if k.span == HOUR]
    assert {
        RowKey(k.hour.replace(hour=0), k.dimension, k.value, k.platform, DAY) for k in hours
    } == {k for k in rows if k.span == DAY}
    later = contributions(CUTS, [fact(0, "inbound"), fact(150, "inbound")], WHOLE)
    moved = with_days(difference(later, found))  # 10:45 → 11:45, the same day
    assert moved
    assert all(k.span == HOUR for k in moved)


def test_percentiles_from_a_histogram_follow_the_exact_definitions() -> None:
    assert percentiles({}) == (0, None, None)
    one = {bucket_of(1200): 3}
    count, median, p90 = percentiles(one)
    assert count == 3
    assert median == round(bucket_value(bucket_of(1200)), 1)
    two = {bucket_of(600): 1, bucket_of(1800): 1}
    count, median, p90 = percentiles(two)
    assert median == round((bucket_value(bucket_of(600)) + bucket_value(bucket_of(1800))) / 2, 1)
    assert p90 == round(bucket_value(bucket_of(1800)))
