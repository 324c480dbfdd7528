"""Listening on real databases: public posts matched after triage and before the playbook, tagged,
counted, and acted on by a playbook rule that names the query."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.migrate import downgrade, upgrade
from socialdesk.bootstrap import Desk
from socialdesk.domain.errors import Conflict, InvalidInput, NotFound
from socialdesk.domain.listening import QueryError
from socialdesk.domain.messages import MessageKind
from socialdesk.queries.listening import get_query, list_queries, query_matches
from socialdesk.services import listening
from socialdesk.services.intake import ingest
from socialdesk.services.listening import listen
from socialdesk.services.playbooks import run_pending, save_version
from socialdesk.services.triage import triage_pending
from tests import factories as f
from tests.fakes import FakeClassifier, FrozenClock

PLAYBOOK = """
rules:
  - name: outages go to the top
    when: {listening_query: Outage Watch}
    then:
      - tag: outage
      - priority: 95
"""


def settle(desk: Desk, now: datetime) -> None:
    """What the worker does after intake: triage (matching the queries inside it), the playbook."""
    triage_pending(
        desk.analytics_uow,
        FakeClassifier(),
        now=now,
        policy=desk.triage_policy,
        then=listen,
    )
    run_pending(desk.uow, desk.playbook_runtime(), now=now)


def post(
    desk: Desk,
    channel: int,
    ext: str,
    text: str,
    at: datetime,
    kind: MessageKind = MessageKind.POST,
) -> int:
    result = ingest(
        desk.uow,
        [f.inbound(channel, ext, text, author=f"a-{ext}", at=at, kind=kind)],
        now=at,
        policy=desk.policy,
        source="test",
    )
    return result.outcomes[0].conversation_id


def tags_of(desk: Desk, conversation_id: int) -> list[str]:
    with desk.uow(read_only=True) as unit:
        conversation = unit.conversations.get(conversation_id)
    assert conversation is not None
    return conversation.tags


@pytest.fixture
def x(desk: Desk) -> int:
    return f.channel(desk.uow, "x", "@brand", desk.clock.now())


class TestMatching:
    def test_public_posts_are_matched_tagged_and_counted(
        self, desk: Desk, clock: FrozenClock, x: int
    ) -> None:
        now = clock.now()
        query = listening.create_query(
            desk.analytics_uow, None, "Outage Watch", "outage OR down", now
        )
        refunds = listening.create_query(desk.analytics_uow, None, "Refunds", "refund*", now)
        hit = post(desk, x, "1", "angry: the app is down again", now)
        both = post(desk, x, "2", "outage, and no refunds either", now)
        dm = post(desk, x, "3", "the app is down", now, kind=MessageKind.DM)
        miss = post(desk, x, "4", "all fine here", now)
        settle(desk, now)

        assert tags_of(desk, hit) == ["listening:outage-watch"]
        assert tags_of(desk, both) == ["listening:outage-watch", "listening:refunds"]
        assert tags_of(desk, dm) == tags_of(desk, miss) == []
        with desk.engine.connect() as conn:
            rows = conn.execute(
                select(
                    t.listening_matches.c.query_id,
                    t.messages.c.external_id,
                    t.listening_matches.c.negative,
                )
                .join(t.messages, t.messages.c.id == t.listening_matches.c.message_id)
                .order_by(t.messages.c.external_id, t.listening_matches.c.query_id)
            ).all()
            meta = conn.execute(
                select(t.messages.c.meta).where(t.messages.c.external_id == "2")
            ).scalar_one()
            tagged = (
                conn.execute(
                    select(t.events.c.conversation_id).where(
                        t.events.c.type == "conversation_tagged"
                    )
                )
                .scalars()
                .all()
            )
            views = {v.name: v for v in list_queries(conn, now)}
        assert rows == [(query.id, "1", True), (query.id, "2", False), (refunds.id, "2", False)]
        assert meta["listening_queries"] == ["Outage Watch", "Refunds"]
        assert sorted(tagged) == sorted([hit, both])
        assert (views["Outage Watch"].matches_24h, views["Outage Watch"].matches_7d) == (2, 2)
        assert views["Refunds"].matches_24h == 1

    def test_lang_reads_the_triage_language(self, desk: Desk, clock: FrozenClock, x: int) -> None:
        now = clock.now()
        listening.create_query(desk.analytics_uow, None, "English", "down lang:en", now)
        listening.create_query(desk.analytics_uow, None, "German", "down lang:de", now)
        conversation = post(desk, x, "1", "it is down", now)
        settle(desk, now)
        assert tags_of(desk, conversation) == ["listening:english"]

    def test_inactive_and_later_queries_do_not_match(
        self, desk: Desk, clock: FrozenClock, x: int
    ) -> None:
        now = clock.now()
        query = listening.create_query(desk.analytics_uow, None, "Outages", "down", now)
        listening.update_query(desk.analytics_uow, None, query.id or 0, now, active=False)
        conversation = post(desk, x, "1", "it is down", now)
        settle(desk, now)
        assert tags_of(desk, conversation) == []

    def test_a_playbook_rule_acts_on_what_a_query_found(
        self, desk: Desk, clock: FrozenClock, x: int
    ) -> None:
        now = clock.now()
        listening.create_query(desk.analytics_uow, None, "Outage Watch", '"app is down"', now)
        save_version(desk.uow(), desk.parse_playbook, None, PLAYBOOK, "outages first", now)
        found = post(desk, x, "1", "the app is down since noon", now)
        other = post(desk, x, "2", "the app is slow", now)
        settle(desk, now)

        with desk.uow(read_only=True) as unit:
            hit, miss = unit.conversations.get(found), unit.conversations.get(other)
        assert hit is not None
        assert miss is not None
        assert hit.tags == ["listening:outage-watch", "outage"]
        assert hit.priority >= 95
        assert miss.tags == []
        assert miss.priority < 95


class TestQueries:
    def test_a_query_that_does_not_parse_is_refused_with_its_position(
        self, desk: Desk, clock: FrozenClock
    ) -> None:
        with pytest.raises(QueryError) as refused:
            listening.create_query(desk.analytics_uow, None, "Broken", "refund AND", clock.now())
        assert refused.value.position == 7
        assert refused.value.field == "query"
        with desk.engine.connect() as conn:
            assert list_queries(conn, clock.now()) == []

    def test_names_are_unique_in_any_case(self, desk: Desk, clock: FrozenClock) -> None:
        listening.create_query(desk.analytics_uow, None, "Outages", "down", clock.now())
        with pytest.raises(Conflict):
            listening.create_query(desk.analytics_uow, None, "  OUTAGES ", "outage", clock.now())
        with pytest.raises(InvalidInput):
            listening.create_query(desk.analytics_uow, None, " ", "outage", clock.now())

    def test_change_and_delete(self, desk: Desk, clock: FrozenClock, x: int) -> None:
        now = clock.now()
        query = listening.create_query(desk.analytics_uow, None, "Outages", "down", now)
        assert query.id is not None
        post(desk, x, "1", "it is down", now)
        settle(desk, now)
        changed = listening.update_query(
            desk.analytics_uow, None, query.id, now, name="Downtime", text="down OR outage"
        )
        assert (changed.name, changed.query, changed.active) == ("Downtime", "down OR outage", True)
        listening.delete_query(desk.analytics_uow, None, query.id, now)
        with desk.engine.connect() as conn:
            assert get_query(conn, query.id, now) is None
            assert conn.execute(select(t.listening_matches)).all() == []
        with pytest.raises(NotFound):
            listening.delete_query(desk.analytics_uow, None, query.id, now)

    def test_matches_per_local_day_and_hour(self, desk: Desk, clock: FrozenClock, x: int) -> None:
        start = clock.now() - timedelta(days=2)  # Saturday 09:00 UTC
        query = listening.create_query(desk.analytics_uow, None, "Outages", "down", start)
        for i, hours in enumerate((0, 1, 15, 24, 40)):
            at = start + timedelta(hours=hours)
            post(desk, x, str(i), "angry, down" if i % 2 else "down", at)
            settle(desk, at)
        with desk.engine.connect() as conn:
            view = get_query(conn, query.id or 0, clock.now())
            assert view is not None
            daily = query_matches(
                conn, view, since=start, until=clock.now(), bucket="day", tz="Asia/Tokyo"
            )
            hourly = query_matches(
                conn, view, since=start, until=start + timedelta(hours=3), bucket="hour", tz="UTC"
            )
        # Tokyo is UTC+9: 09:00 UTC Saturday is 18:00 there; +15 h is Sunday 09:00 in Tokyo.
        assert [(c.matches, c.negative) for c in daily.counts] == [(2, 1), (2, 1), (1, 0)]
        assert (daily.total, daily.negative) == (5, 2)
        assert [c.matches for c in hourly.counts] == [1, 1, 0]
        assert [p.message_id for p in daily.recent] == sorted(
            (p.message_id for p in daily.recent), reverse=True
        )


def test_posts_are_counted_per_hour_and_intent_and_the_migration_counts_the_past(
    desk: Desk, clock: FrozenClock, x: int
) -> None:
    """Posts triaged before the counts existed are counted by the migration, under the same keys
    the triage job then adds to."""
    now = clock.now()
    downgrade(desk.engine, "0007")
    post(desk, x, "1", "angry about my bill", now)
    post(desk, x, "2", "my bill is wrong", now + timedelta(minutes=5))
    post(desk, x, "3", "a private bill", now, kind=MessageKind.DM)
    triage_pending(desk.uow, FakeClassifier(), now=now, policy=desk.triage_policy)
    upgrade(desk.engine)
    post(desk, x, "4", "angry, bill again", now + timedelta(minutes=30))
    post(desk, x, "5", "hello", now + timedelta(hours=1, minutes=1))
    settle(desk, now + timedelta(hours=2))
    with desk.analytics_uow(read_only=True) as unit:
        counted = sorted(unit.listening.post_hours(now - timedelta(hours=1)))
    assert counted == [
        (now, "billing", 3, 2),
        (now + timedelta(hours=1), "other", 1, 0),
    ]
