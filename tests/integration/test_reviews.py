"""Quality reviews on real SQLite and PostgreSQL: what each sampling mode draws (never a
conversation already reviewed), the rules of submitting, and the weekly results per agent on a
fixture worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from socialdesk.adapters.db import tables as t
from socialdesk.bootstrap import Desk
from socialdesk.domain.agents import Agent, Role
from socialdesk.domain.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from socialdesk.domain.reviews import Review, default_rubric, sample_request
from socialdesk.queries.reviews import ReviewFilter, agent_weeks, list_reviews, list_sample
from socialdesk.services import reviews
from socialdesk.services.reviews import ReviewDraft
from tests import factories as f
from tests.fakes import FrozenClock
from tests.integration.test_inbox import count_queries
from tests.support.reviewing import answer_survey, handled

TONE_AND_POLICY = [
    {"key": "tone", "label": "Tone", "weight": 2, "max": 5},
    {"key": "policy", "label": "Policy", "weight": 1, "max": 2},
]


class Desk8:
    """A desk with a channel, two agents, a supervisor and an admin, and helpers to make
    closed conversations and reviews at the clock's time."""

    def __init__(self, desk: Desk, clock: FrozenClock) -> None:
        self.desk = desk
        self.clock = clock
        self.channel = f.channel(desk.uow, "x", "@brand")
        self.alice = f.agent(desk.uow, "alice")
        self.bob = f.agent(desk.uow, "bob")
        self.sup = f.agent(desk.uow, "sup", Role.SUPERVISOR)
        self.boss = f.agent(desk.uow, "boss", Role.ADMIN)
        self.made = 0

    def conversation(self, agent: Agent | None, *, closed: bool = True) -> int:
        self.made += 1
        return handled(self.desk, self.channel, self.made, self.sup, assignee=agent, close=closed)

    def survey(self, conversation_id: int, score: int | None, kind: str = "csat") -> None:
        answer_survey(self.desk, self.channel, conversation_id, score, kind)

    def review(self, conversation_id: int, by: Agent | None = None, **scores: Any) -> Review:
        rubric = reviews.current_rubric(self.desk.analytics_uow)
        given = {c.key: scores.get(c.key, 3) for c in rubric.criteria}
        return reviews.submit_review(
            self.desk.analytics_uow,
            by or self.sup,
            ReviewDraft(conversation_id, given, "ok", "random"),
            self.clock.now(),
        )

    def sample(self, mode: str = "random", **kw: Any) -> list[int]:
        request = sample_request(mode, now=self.clock.now(), seed=kw.pop("seed", 1), **kw)
        return reviews.draw_sample(self.desk.analytics_uow, self.sup, request)

    def counts(self) -> tuple[int, ...]:
        with self.desk.engine.connect() as conn:
            return tuple(
                conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (t.reviews, t.review_rubrics, t.events)
            )


@pytest.fixture
def d(desk: Desk, clock: FrozenClock) -> Desk8:
    return Desk8(desk, clock)


class TestSampling:
    def test_random_draws_closed_unreviewed_conversations_of_the_range(self, d: Desk8) -> None:
        before = d.conversation(d.alice)
        d.clock.advance(days=2)
        closed = [d.conversation(d.alice if i % 2 else d.bob) for i in range(12)]
        unassigned = d.conversation(None)
        still_open = d.conversation(d.alice, closed=False)
        d.clock.advance(hours=1)
        since = d.clock.now() - timedelta(days=1)
        pool = set(d.sample(since=since, size=50))
        assert pool == {*closed, unassigned}
        assert before not in pool
        assert still_open not in pool

        first = d.sample(since=since, size=5, seed=99)
        assert len(first) == 5
        assert d.sample(since=since, size=5, seed=99) == first
        d.review(first[0])
        again = d.sample(since=since, size=5, seed=99)
        assert first[0] not in again
        assert again[:4] == first[1:]

    def test_by_agent(self, d: Desk8) -> None:
        alices = {d.conversation(d.alice) for _ in range(3)}
        d.conversation(d.bob)
        d.clock.advance(minutes=1)
        assert set(d.sample("agent", agent_id=d.alice.id)) == alices

    def test_low_csat_means_an_answered_csat_of_two_or_less(self, d: Desk8) -> None:
        one, two, three, unanswered, nps, none = (d.conversation(d.alice) for _ in range(6))
        bobs = d.conversation(d.bob)
        for conversation_id, score in ((one, 1), (two, 2), (three, 3), (unanswered, None)):
            d.survey(conversation_id, score)
        d.survey(nps, 1, kind="nps")
        d.survey(bobs, 1)
        d.clock.advance(minutes=1)
        assert set(d.sample("low_csat")) == {one, two, bobs}
        assert set(d.sample("low_csat", agent_id=d.alice.id)) == {one, two}
        assert none not in d.sample("low_csat")
        d.review(one)
        assert set(d.sample("low_csat")) == {two, bobs}

    def test_the_sample_list_shows_preview_agent_and_csat(self, d: Desk8) -> None:
        rated = d.conversation(d.alice)
        unrated = d.conversation(None)
        d.survey(rated, 5)
        d.clock.advance(minutes=1)
        d.survey(rated, 1)  # the latest answer is the one shown
        with (
            d.desk.engine.connect() as conn,
            count_queries(d.desk.engine) as statements,
        ):
            items = list_sample(conn, [unrated, rated, 12345])
        assert len(statements) == 3
        assert [i.conversation.id for i in items] == [unrated, rated]
        assert items[1].conversation.preview == "post 1"
        assert items[1].conversation.assignee is not None
        assert items[1].conversation.assignee.name == "Alice"
        assert (items[0].csat, items[1].csat) == (None, 1)
        assert items[0].conversation.assignee is None

    def test_only_supervisors_draw(self, d: Desk8) -> None:
        with pytest.raises(Forbidden):
            reviews.draw_sample(
                d.desk.analytics_uow, d.alice, sample_request("random", now=d.clock.now(), seed=1)
            )


class TestSubmitting:
    def test_a_review_is_stored_with_its_score_and_event(self, d: Desk8) -> None:
        conversation_id = d.conversation(d.alice)
        review = reviews.submit_review(
            d.desk.analytics_uow,
            d.sup,
            ReviewDraft(
                conversation_id,
                {"tone": 5, "accuracy": 4, "brand_voice": "n/a", "resolution": 3, "policy": 5},
                "  Friendly, but the refund policy was not cited. ",
                "low_csat",
            ),
            d.clock.now(),
        )
        assert review.score == 85  # (1 + 0.8 + 0.6 + 1) / 4
        assert review.agent_id == d.alice.id
        with d.desk.engine.connect() as conn:
            page = list_reviews(conn, ReviewFilter(conversation_id=conversation_id))
        (stored,) = page.items
        assert stored.scores["brand_voice"] is None
        assert stored.comment == "Friendly, but the refund policy was not cited."
        assert (stored.sampled_by, stored.reviewer.name, stored.score) == ("low_csat", "Sup", 85)
        assert [c.key for c in stored.criteria] == [c.key for c in default_rubric().criteria]
        with d.desk.engine.connect() as conn:
            kind, payload = conn.execute(
                select(t.events.c.type, t.events.c.data).order_by(t.events.c.id.desc())
            ).first() or (None, None)
        assert kind == "review_submitted"
        assert payload == {
            "review_id": review.id,
            "agent_id": d.alice.id,
            "rubric_id": review.rubric_id,
            "score": 85,
            "sampled_by": "low_csat",
        }

    def test_once_per_reviewer(self, d: Desk8) -> None:
        conversation_id = d.conversation(d.alice)
        d.review(conversation_id)
        with pytest.raises(Conflict, match="already"):
            d.review(conversation_id)
        d.review(conversation_id, by=d.boss)  # a second opinion

    def test_who_may_review(self, d: Desk8) -> None:
        sups = d.conversation(d.sup)
        bosses = d.conversation(d.boss)
        alices = d.conversation(d.alice)
        with pytest.raises(Forbidden, match="was yours"):
            d.review(sups)
        d.review(bosses, by=d.boss)  # admins may review their own work
        with pytest.raises(Forbidden, match="supervisor role"):
            d.review(alices, by=d.bob)

    def test_refusals_change_nothing(self, d: Desk8) -> None:
        still_open = d.conversation(d.alice, closed=False)
        closed = d.conversation(d.alice)
        counts = d.counts()
        with pytest.raises(InvalidTransition, match="only closed"):
            d.review(still_open)
        with pytest.raises(NotFound):
            d.review(99999)
        with pytest.raises(InvalidInput, match="Policy") as caught:
            d.review(closed, policy=9)
        assert caught.value.field == "scores.policy"
        with pytest.raises(Conflict, match="rubric changed"):
            reviews.submit_review(
                d.desk.analytics_uow,
                d.sup,
                ReviewDraft(closed, {"tone": 1}, rubric_id=12345),
                d.clock.now(),
            )
        assert d.counts() == counts  # not even the default rubric was saved

    def test_a_new_rubric_version_scores_the_next_reviews(self, d: Desk8) -> None:
        first, second = d.conversation(d.alice), d.conversation(d.bob)
        old = d.review(first)
        assert reviews.current_rubric(d.desk.analytics_uow).id == old.rubric_id
        d.clock.advance(minutes=1)
        saved = reviews.save_rubric(d.desk.analytics_uow, d.sup, TONE_AND_POLICY, d.clock.now())
        current = reviews.current_rubric(d.desk.analytics_uow)
        assert (current.id, current.author_id, current.criteria) == (
            saved.id,
            d.sup.id,
            saved.criteria,
        )
        new = d.review(second, tone=5, policy=1)
        assert (new.rubric_id, new.score) == (saved.id, 83)
        with pytest.raises(Forbidden):
            reviews.save_rubric(d.desk.analytics_uow, d.alice, TONE_AND_POLICY, d.clock.now())


def test_results_per_agent_and_week(d: Desk8) -> None:
    """Worked out by hand (docs/quality.md): tone weighs 2 of 5 points, policy 1 of 2.
    alice, week of 2 March: 5+1 → (2·1 + 0.5)/3 = 83; 3+n/a → 60; mean 71.5, tone 80, policy 50
    alice, week of 9 March: 4+2 → (2·0.8 + 1)/3 = 87; tone 80, policy 100
    bob, week of 2 March: the default rubric, all 4 → 80; then 1+0 → 0.4/3 = 13;
         mean 46.5, tone (80+20)/2 = 50, policy (80+0)/2 = 40, the others 80 (one review)"""
    a1, a2, a3, b0, b1 = (d.conversation(x) for x in (d.alice,) * 3 + (d.bob,) * 2)
    d.clock.advance(hours=1)  # Monday 2 March, 10:00
    assert d.review(b0, tone=4, accuracy=4, brand_voice=4, resolution=4, policy=4).score == 80
    reviews.save_rubric(d.desk.analytics_uow, d.sup, TONE_AND_POLICY, d.clock.now())
    assert d.review(a1, tone=5, policy=1).score == 83
    assert d.review(a2, tone=3, policy="n/a").score == 60
    assert d.review(b1, tone=1, policy=0).score == 13
    d.clock.advance(days=8)  # Tuesday 10 March
    assert d.review(a3, tone=4, policy=2).score == 87

    with d.desk.engine.connect() as conn, count_queries(d.desk.engine) as statements:
        weeks = agent_weeks(conn)
    assert len(statements) == 1
    found = [(w.agent.name if w.agent else None, w.week.isoformat(), w.reviews) for w in weeks]
    assert found == [
        ("Alice", "2026-03-02", 2),
        ("Alice", "2026-03-09", 1),
        ("Bob", "2026-03-02", 2),
    ]
    assert [w.mean_score for w in weeks] == [71.5, 87.0, 46.5]
    assert weeks[0].criteria == {"tone": 80.0, "policy": 50.0}
    assert weeks[1].criteria == {"tone": 80.0, "policy": 100.0}
    assert weeks[2].criteria == {
        "tone": 50.0,
        "accuracy": 80.0,
        "brand_voice": 80.0,
        "resolution": 80.0,
        "policy": 40.0,
    }
    with d.desk.engine.connect() as conn:
        later = agent_weeks(conn, since=datetime(2026, 3, 9, tzinfo=d.clock.now().tzinfo))
        bobs = agent_weeks(conn, agent_id=d.bob.id)
    assert [(w.week.isoformat(), w.reviews) for w in later] == [("2026-03-09", 1)]
    assert {w.agent.name for w in bobs if w.agent} == {"Bob"}


def test_the_review_list_pages_newest_first_in_one_statement(d: Desk8) -> None:
    made = [d.review(d.conversation(d.alice if i % 2 else d.bob)) for i in range(7)]
    newest_first = [r.id for r in reversed(made)]
    seen: list[int] = []
    before = None
    with d.desk.engine.connect() as conn:
        while True:
            with count_queries(d.desk.engine) as statements:
                page = list_reviews(conn, ReviewFilter(), limit=3, before=before)
            assert len(statements) == 1
            seen += [r.id for r in page.items]
            if page.next_before is None:
                break
            before = page.next_before
        alices = list_reviews(conn, ReviewFilter(agent_id=d.alice.id)).items
    assert seen == newest_first
    assert {r.agent.name for r in alices if r.agent} == {"Alice"}
    assert len(alices) == 3
