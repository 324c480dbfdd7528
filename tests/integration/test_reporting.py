"""The reporting job and the metrics on real databases, against a day worked out by hand.

The day (UTC, desk targets: first and next response within 1 h):
- A on X: 09:00 "angry help, my bill" (negative, needs a response); the agent replies 09:20
  (first response 20 min); 09:30 "help, still broken" (neutral); reply 10:10 (next response
  40 min); closed 10:30 (resolution 90 min).
- B on X: 09:05 "help me" (neutral, needs a response), never answered.
- C by e-mail: 09:10 "angry help" (negative); the brand's reply imported at 10:10 (first
  response 60 min, within the target).
- D on X: 11:00 "thanks" (neutral, needs nothing).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from socialdesk.adapters.db import reporting as reporting_store
from socialdesk.adapters.db import tables as t
from socialdesk.bootstrap import Desk
from socialdesk.domain.agents import Role
from socialdesk.queries import analytics
from socialdesk.queries.analytics import (
    Cut,
    Dimension,
    Durations,
    breakdown,
    overview,
    series,
)
from socialdesk.services import conversations as actions
from socialdesk.services import reporting
from socialdesk.services.conversations import ReplyDraft
from socialdesk.services.intake import ingest
from socialdesk.services.playbooks import run_pending
from socialdesk.services.reporting import project, rebuild
from socialdesk.services.triage import triage_pending
from tests import factories as f
from tests.fakes import FakeClassifier, FrozenClock

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


def settle(desk: Desk, now: datetime) -> None:
    """What the worker does after intake: triage, the playbook, then the reporting facts."""
    triage_pending(desk.uow, FakeClassifier(), now=now, policy=desk.triage_policy)
    run_pending(desk.uow, desk.playbook_runtime(), now=now)
    project(desk.analytics_uow, desk.holidays, targets=desk.policy.targets, now=now)


@pytest.fixture
def day(desk: Desk, clock: FrozenClock) -> dict[str, int]:
    x = f.channel(desk.uow, "x", "@brand", now=at(8))
    mail = f.channel(desk.uow, "email", "help@brand.example", now=at(8))
    sam = f.agent(desk.uow, "sam", Role.AGENT, now=at(8))

    def inbound(
        channel: int, ext: str, text: str, when: datetime, author: str, reply_to: str | None = None
    ) -> int:
        clock.current = when
        result = ingest(
            desk.uow,
            [f.inbound(channel, ext, text, author=author, at=when, in_reply_to=reply_to)],
            now=when,
            policy=desk.policy,
            source="test",
        )
        settle(desk, when)
        return result.outcomes[0].conversation_id

    def answer(conversation: int, when: datetime) -> None:
        clock.current = when
        actions.reply(desk.uow(), sam, conversation, ReplyDraft(text="On it, sorry!"), when)
        settle(desk, when)

    a = inbound(x, "a1", "angry help, my bill", at(9), "cust-a")
    b = inbound(x, "b1", "help me", at(9, 5), "cust-b")
    c = inbound(mail, "c1", "angry help", at(9, 10), "cust-c")
    answer(a, at(9, 20))
    assert inbound(x, "a2", "help, still broken", at(9, 30), "cust-a", reply_to="a1") == a
    answer(a, at(10, 10))
    clock.current = at(10, 10)
    ingest(
        desk.uow,
        [f.outbound(mail, "c-reply", "c1", at=at(10, 10))],
        now=at(10, 10),
        policy=desk.policy,
        source="test",
    )
    settle(desk, at(10, 10))
    clock.current = at(10, 30)
    actions.close(desk.uow(), sam, a, "fixed", at(10, 30))
    d = inbound(x, "d1", "thanks", at(11), "cust-d")
    settle(desk, at(12))
    return {"a": a, "b": b, "c": c, "d": d, "x": x, "mail": mail, "sam": sam.id or 0}


def cut(**filters: object) -> Cut:
    return Cut(DAY, DAY + timedelta(days=1), **filters)  # type: ignore[arg-type]


def test_the_overview_of_the_day_is_what_was_worked_out_by_hand(
    desk: Desk, day: dict[str, int]
) -> None:
    with desk.engine.connect() as conn:
        o = overview(conn, cut())
    assert (o.inbound, o.outbound, o.auto_acks) == (5, 3, 0)
    assert o.by_platform == {"x": 4, "email": 1}
    assert o.social_share == 0.8
    assert o.negative_share == 0.4
    assert (o.needing_response, o.responded, o.suppressed) == (4, 3, 0)
    assert o.response_rate == 0.75
    assert (o.first_response.count, o.first_response.median_seconds) == (2, 2400.0)
    assert o.first_response.p90_seconds == 3600
    assert (o.next_response.count, o.next_response.median_seconds) == (1, 2400.0)
    assert (o.resolution.count, o.resolution.median_seconds) == (1, 5400.0)
    assert (o.first_sla.met, o.first_sla.total, o.next_sla.share) == (2, 2, 1.0)
    assert o.sentiment_before == {"negative": 2}
    assert o.sentiment_after == {"neutral": 1}
    assert (o.turned_around.met, o.turned_around.total) == (1, 1)
    assert o.csat.total == 0
    assert o.csat_mean is None
    assert o.qa_score is None


def test_filters_cut_every_metric(desk: Desk, day: dict[str, int]) -> None:
    with desk.engine.connect() as conn:
        mail = overview(conn, cut(channel_id=day["mail"]))
        sams = overview(conn, cut(agent_id=day["sam"]))
        billing = overview(conn, cut(intent="billing"))
        none = overview(conn, cut(platform="facebook"))
    assert (mail.inbound, mail.outbound, mail.first_response.median_seconds) == (1, 1, 3600.0)
    assert (sams.outbound, sams.first_response.count, sams.next_response.count) == (2, 1, 1)
    assert billing.inbound == 2  # conversation A is about billing: both its messages count
    assert none.inbound == 0
    assert none.response_rate is None
    assert none.first_response.median_seconds is None


def test_a_range_that_misses_the_day_is_empty_and_hours_fold_into_local_days(
    desk: Desk, day: dict[str, int]
) -> None:
    with desk.engine.connect() as conn:
        before = overview(conn, Cut(DAY - timedelta(days=3), DAY))
        days = series(conn, Cut(DAY - timedelta(days=1), DAY + timedelta(days=2)), hourly=False)
        hours = series(conn, cut(), hourly=True)
    assert before.inbound == 0
    assert [p.inbound for p in days] == [0, 5, 0]
    assert [p.outbound for p in days] == [0, 3, 0]
    assert [p.backlog for p in days] == [0, 3, 3]  # A closed; B, C and D still open
    assert len(hours) == 24
    assert [(p.start.hour, p.inbound) for p in hours if p.inbound] == [(9, 4), (11, 1)]
    assert hours[9].negative == 2


def test_breakdowns_by_platform_and_agent(desk: Desk, day: dict[str, int]) -> None:
    with desk.engine.connect() as conn:
        platforms = breakdown(conn, cut(), Dimension.PLATFORM)
        agents = breakdown(conn, cut(), Dimension.AGENT)
    x = platforms[0]
    assert (x.key, x.inbound, x.outbound, x.needing_response, x.responded) == ("x", 4, 2, 3, 2)
    assert x.first_response.median_seconds == 1200.0
    assert [r.key for r in platforms] == ["x", "email"]
    sam = next(r for r in agents if r.key == str(day["sam"]))
    assert (sam.outbound, sam.first_response.count) == (2, 1)


def test_running_the_job_again_changes_nothing(desk: Desk, day: dict[str, int]) -> None:
    with desk.engine.connect() as conn:
        first = overview(conn, cut())
    project(desk.analytics_uow, desk.holidays, targets=desk.policy.targets, now=at(13))
    with desk.engine.connect() as conn:
        again = overview(conn, cut())
    assert first == again


def test_the_rollups_equal_the_facts_after_reassigning_tagging_and_reopening(
    desk: Desk, day: dict[str, int], clock: FrozenClock
) -> None:
    """Every cut the rollups serve (whole hours; one filter, a platform, or both) equals the same
    cut read from the facts (a range one second wider, which the rollups cannot serve), and so
    do its breakdowns by platform and by agent."""
    with desk.uow(read_only=True) as unit:
        sam = unit.agents.get(day["sam"])
    assert sam is not None
    later = at(12, 30)
    actions.assign(
        desk.uow(), sam, day["b"], actions.Assignment(assignee_id=sam.id, team_id=None), later
    )
    actions.retag(desk.uow(), sam, day["c"], ["refund"], [], later)
    actions.retag(desk.uow(), sam, day["a"], ["refund"], [], later)
    actions.reopen(desk.uow(), sam, day["a"], later, desk.policy.targets)
    project(desk.analytics_uow, desk.holidays, targets=desk.policy.targets, now=at(13))
    cuts: list[dict[str, Any]] = [
        {},
        {"platform": "x"},
        {"channel_id": day["mail"]},
        {"agent_id": day["sam"]},
        {"intent": "billing"},
        {"tag": "refund"},
        {"platform": "x", "agent_id": day["sam"]},
        {"platform": "email", "tag": "refund"},
    ]
    with desk.engine.connect() as conn:
        for filters in cuts:
            rolled = overview(conn, cut(**filters))
            wider = Cut(DAY - timedelta(seconds=1), DAY + timedelta(days=1), **filters)
            assert rolled == overview(conn, wider), filters
            for by in (Dimension.PLATFORM, Dimension.AGENT):
                assert breakdown(conn, cut(**filters), by) == breakdown(conn, wider, by), by
            later_end = Cut(DAY, DAY + timedelta(days=1, seconds=1), **filters)
            by_rollup = series(conn, cut(**filters), hourly=True)
            assert by_rollup == series(conn, later_end, hourly=True)[:24], filters
        assert overview(conn, cut(tag="refund")).inbound == 3  # A's two messages and C's
        assert overview(conn, cut(agent_id=day["sam"])).inbound == 3  # A's two and B's
        assert breakdown(conn, cut(), Dimension.TAG) == breakdown(
            conn, Cut(DAY - timedelta(seconds=1), DAY + timedelta(days=1)), Dimension.TAG
        )
        # Whole days with hours at both ends, hours alone, and a range ending on an edge of the
        # day's activity: the day rows and the hour rows add up to what the facts say.
        second = timedelta(seconds=1)
        for start, end in (
            (DAY - timedelta(hours=4), DAY + timedelta(days=1, hours=3)),
            (at(9), at(12)),
            (at(10), DAY + timedelta(days=2)),
        ):
            for filters in ({}, {"platform": "x"}, {"agent_id": day["sam"]}):
                rolled = overview(conn, Cut(start, end, **filters))
                assert rolled == overview(conn, Cut(start - second, end, **filters)), (start, end)
                assert (
                    series(conn, Cut(start, end, **filters))
                    == series(conn, Cut(start, end + second, **filters))[
                        : len(series(conn, Cut(start, end, **filters)))
                    ]
                )


def dashboards(desk: Desk, day: dict[str, int]) -> list[Any]:
    """What the pages show for a few cuts, and the facts and rollups as stored."""
    found: list[Any] = []
    with desk.engine.connect() as conn:
        for filters in ({}, {"platform": "x"}, {"agent_id": day["sam"]}, {"tag": "refund"}):
            found.append(overview(conn, cut(**filters)))
            found.append(series(conn, cut(**filters), hourly=True))
            found += [breakdown(conn, cut(**filters), by) for by in Dimension]
        for table in (t.report_messages, t.report_conversations, t.report_hours):
            rows = conn.execute(select(table)).mappings()
            found.append(sorted((sorted(r.items()) for r in rows), key=repr))
    return found


@pytest.mark.parametrize(
    ("copy_from", "flush", "held_batch"),
    [(10**9, 200_000, 50_000), (1, 200_000, 50_000), (1, 5, 2)],
)
def test_a_rebuild_gives_what_the_job_gave_and_the_job_goes_on_from_there(
    desk: Desk,
    day: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    copy_from: int,
    flush: int,
    held_batch: int,
) -> None:
    """Also with the rollups written by COPY (PostgreSQL) and flushed every few rows, so that
    later flushes add to rows written before, and PostgreSQL sums the held rows a few keys at a
    time."""
    with desk.uow(read_only=True) as unit:
        sam = unit.agents.get(day["sam"])
    assert sam is not None
    actions.retag(desk.uow(), sam, day["a"], ["refund"], [], at(12, 30))
    settle(desk, at(13))
    by_job = dashboards(desk, day)
    monkeypatch.setattr(reporting_store, "COPY_FROM", copy_from)
    monkeypatch.setattr(reporting, "REBUILD_FLUSH", flush)
    monkeypatch.setattr(reporting_store, "HELD_BATCH", held_batch)
    seen: list[tuple[int, int]] = []
    done = rebuild(
        desk.analytics_uow,
        desk.holidays,
        targets=desk.policy.targets,
        now=at(13),
        chunk=3,
        on_progress=lambda n, total: seen.append((n, total)),
    )
    assert done == 4
    assert seen == [(3, 4), (4, 4)]
    assert dashboards(desk, day) == by_job
    assert project(desk.analytics_uow, desk.holidays, targets=desk.policy.targets, now=at(13)) == 0


def close_to(rolled: Durations, exact: Durations) -> bool:
    """A duration read from the histograms: the same count, each figure within a bucket's
    half-width (2.5%) of the exact one."""

    def near(a: float | None, b: float | None) -> bool:
        return a == b or (a is not None and b is not None and abs(a - b) <= 0.026 * b + 1)

    return rolled.count == exact.count and all(
        near(a, b)
        for a, b in (
            (rolled.median_seconds, exact.median_seconds),
            (rolled.p90_seconds, exact.p90_seconds),
        )
    )


@pytest.mark.parametrize(("limit", "to"), [("EXACT_LIMIT", 0), ("SCAN_LIMIT", 1)])
def test_durations_over_many_responses_are_read_from_the_histograms(
    desk: Desk, day: dict[str, int], monkeypatch: pytest.MonkeyPatch, limit: str, to: int
) -> None:
    """Above EXACT_LIMIT responses in the cut, or SCAN_LIMIT in the whole desk, the rollups'
    histograms, merged by the database, give the percentiles: within 2.5% of the exact ones, for
    the whole desk, a platform, an agent on a platform, in business hours, and per platform in a
    breakdown."""
    monkeypatch.setattr(analytics, limit, to)
    cuts: list[dict[str, Any]] = [
        {},
        {"platform": "x"},
        {"platform": "x", "agent_id": day["sam"]},
        {"business": True},
    ]
    with desk.engine.connect() as conn:
        for filters in cuts:
            rolled = overview(conn, cut(**filters))
            exact = overview(
                conn, Cut(DAY - timedelta(seconds=1), DAY + timedelta(days=1), **filters)
            )
            for kind in ("first_response", "next_response", "resolution"):
                assert close_to(getattr(rolled, kind), getattr(exact, kind)), (filters, kind)
            assert rolled.first_response.count == (2 if filters.get("platform") != "x" else 1)
        by_rollup = breakdown(conn, cut(), Dimension.PLATFORM)
        by_facts = breakdown(
            conn, Cut(DAY - timedelta(seconds=1), DAY + timedelta(days=1)), Dimension.PLATFORM
        )
        assert [r.key for r in by_rollup] == [r.key for r in by_facts] == ["x", "email"]
        for a, b in zip(by_rollup, by_facts, strict=True):
            assert close_to(a.first_response, b.first_response), a.key


def test_a_survey_question_answers_nobody_and_its_answer_needs_nothing(
    desk: Desk, day: dict[str, int]
) -> None:
    """B's customer is asked a CSAT question and answers "5": neither is a response."""
    later = at(13)
    ingest(
        desk.uow,
        [
            f.outbound(day["x"], "b-survey", "b1", at=later, meta={"survey": "csat"}),
            f.inbound(
                day["x"],
                "b-answer",
                "5 help",
                author="cust-b",
                at=later + timedelta(minutes=1),
                in_reply_to="b-survey",
                meta={"survey_answer": {"survey_id": 1, "score": 5}},
            ),
        ],
        now=later,
        policy=desk.policy,
        source="test",
    )
    settle(desk, later + timedelta(minutes=5))
    with desk.engine.connect() as conn:
        o = overview(conn, cut())
    assert (o.inbound, o.outbound, o.auto_acks) == (6, 3, 1)
    assert (o.needing_response, o.responded, o.first_response.count) == (4, 3, 2)
