"""The staffing read side on real SQLite and PostgreSQL: the hourly history of messages needing
a response (with its filters) and the handle time measured from agents' replies and notes.

Monday 2 March 2026 (UTC); the handle-time window is [10:00, 12:00):
- customers on X write P (team Care), Q and S at 09:40, R by e-mail at 09:40; at 11:15 a
  "thanks" on X (needs nothing) and at 11:30 "help 5" on X.
- Sam replies P 09:55 (before the window: only starts his clock) and P 10:00 (5 min), notes Q
  10:04, replies Q 10:10 (6 min after the note), R 10:10:10 (10 s: counted as 30 s, e-mail),
  S 10:50 (40 min: a break, left out).
- Lee replies S 10:20 (his first: left out), Q 10:25 (5 min), P 12:05 (after the window).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from socialdesk.bootstrap import Desk
from socialdesk.domain.agents import Agent, Role
from socialdesk.domain.handle_time import HandleSource
from socialdesk.domain.messages import MessageKind
from socialdesk.queries.staffing import (
    StaffingAsk,
    hourly_demand,
    plan_staffing,
    reply_work_seconds,
)
from socialdesk.services import conversations as actions
from socialdesk.services.agents import create_team
from socialdesk.services.intake import ingest
from tests import factories as f
from tests.fakes import FrozenClock
from tests.integration.test_inbox import count_queries
from tests.support.analytics_day import settle

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute, seconds=second)


@pytest.fixture
def worked(desk: Desk, clock: FrozenClock) -> dict[str, int]:
    x = f.channel(desk.uow, "x", "@brand", now=at(8))
    mail = f.channel(desk.uow, "email", "help@brand.example", now=at(8))
    sam = f.agent(desk.uow, "sam", Role.AGENT, now=at(8))
    lee = f.agent(desk.uow, "lee", Role.AGENT, now=at(8))
    care = create_team(desk.uow(), "Care", at(8), None)

    def customer(
        channel: int, ext: str, text: str, when: datetime, kind: MessageKind = MessageKind.POST
    ) -> int:
        clock.current = when
        done = ingest(
            desk.uow,
            [f.inbound(channel, ext, text, author=f"c-{ext}", at=when, kind=kind)],
            now=when,
            policy=desk.policy,
            source="test",
        )
        settle(desk, when)
        return done.outcomes[0].conversation_id

    def reply(agent: Agent, conversation: int, when: datetime) -> None:
        clock.current = when
        actions.reply(desk.uow(), agent, conversation, actions.ReplyDraft("ok"), when)

    p = customer(x, "p", "help 1", at(9, 40))
    q = customer(x, "q", "help 2", at(9, 40))
    s = customer(x, "s", "help 4", at(9, 40))
    r = customer(mail, "r", "help 3", at(9, 40), MessageKind.EMAIL)
    actions.assign(desk.uow(), sam, p, actions.Assignment(None, care.id, False, True), at(9, 41))
    reply(sam, p, at(9, 55))
    reply(sam, p, at(10))
    actions.add_note(desk.uow(), sam, q, "checking the order", at(10, 4))
    reply(sam, q, at(10, 10))
    reply(sam, r, at(10, 10, 10))
    reply(lee, s, at(10, 20))
    reply(lee, q, at(10, 25))
    reply(sam, s, at(10, 50))
    customer(x, "t", "thanks", at(11, 15))
    customer(x, "u", "help 5", at(11, 30))
    reply(lee, p, at(12, 5))
    clock.current = at(12, 10)
    settle(desk, at(12, 10))
    assert care.id is not None
    return {"care": care.id}


def test_the_history_counts_messages_needing_a_response_per_utc_hour(
    desk: Desk, worked: dict[str, int]
) -> None:
    with desk.engine.connect() as conn:
        every = hourly_demand(conn, at(9), at(12))
        on_x = hourly_demand(conn, at(9), at(12), platform="x")
        care = hourly_demand(conn, at(9), at(12), team_id=worked["care"])
        later = hourly_demand(conn, at(10), at(11))
    assert sorted((h.hour_start, h.count) for h in every) == [(at(9), 4), (at(11), 1)]
    assert sorted((h.hour_start, h.count) for h in on_x) == [(at(9), 3), (at(11), 1)]
    assert [(h.hour_start, h.count) for h in care] == [(at(9), 1)]
    assert later == []


def test_work_per_reply_is_the_gap_since_the_agents_last_reply_or_note(
    desk: Desk, worked: dict[str, int]
) -> None:
    with desk.engine.connect() as conn:
        every = reply_work_seconds(conn, at(10), at(12))
        on_x = reply_work_seconds(conn, at(10), at(12), platform="x")
        care = reply_work_seconds(conn, at(10), at(12), team_id=worked["care"])
    assert every == [30, 300, 300, 360]
    assert on_x == [300, 300, 360]
    assert care == [300]


def test_the_plan_uses_the_setting_until_fifty_replies_are_measured(
    desk: Desk, worked: dict[str, int]
) -> None:
    ask = StaffingAsk(tz="UTC", weeks=1, history_weeks=1)
    with desk.engine.connect() as conn, count_queries(desk.engine) as statements:
        view = plan_staffing(conn, ask, now=at(12, 10), fallback_handle_seconds=360)
    assert len(statements) == 2
    assert (view.handle.source, view.handle.seconds) == (HandleSource.SETTING, 360)
    assert (view.handle.replies_measured, view.handle.measured_seconds) == (4, 300.0)
    assert (view.history_start, view.history_end) == (at(12) - timedelta(weeks=1), at(12))
    assert view.start == DAY + timedelta(days=1)
    assert len(view.hours) == 168
    busy = {h.forecast.hour_start: h.forecast.expected for h in view.hours if h.forecast.expected}
    assert busy == {at(9) + timedelta(weeks=1): 4.0, at(11) + timedelta(weeks=1): 1.0}
    assert [d.peak_agents for d in view.days] == [0, 0, 0, 0, 0, 0, 1]
