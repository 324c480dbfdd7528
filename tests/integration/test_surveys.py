"""Surveys on real databases (SQLite and PostgreSQL): a close asks once through the outbox, an
answer written as a message is stored without reopening the conversation, an answer with a new
problem reopens it, expired surveys and the quiet period are honoured, answers on the page."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from socialdesk.adapters.db import tables as t
from socialdesk.bootstrap import Desk
from socialdesk.domain.agents import Agent
from socialdesk.domain.conversations import Status
from socialdesk.domain.errors import Conflict, InvalidInput, NotFound
from socialdesk.domain.messages import MessageKind
from socialdesk.domain.surveys import token_hash
from socialdesk.services import conversations as actions
from socialdesk.services.intake import ingest
from socialdesk.services.playbooks import save_version
from socialdesk.services.surveys import SurveyReport, answer_by_link, ask_after_close
from socialdesk.services.templates import create_template
from tests import factories as f
from tests.fakes import FrozenClock

RULES = """\
version: 1
rules:
  - name: CSAT after every close
    trigger: close
    when: {not: {close_reason: duplicate}}
    then: [{survey: csat}]
"""


@dataclass
class World:
    desk: Desk
    clock: FrozenClock
    channel_id: int
    agent: Agent
    tokens: itertools.count[int]

    def write(self, ext: str, text: str, author: str = "cust-1", **fields: Any) -> int:
        """A customer message, now; returns its conversation's id."""
        now = self.clock.now()
        result = ingest(
            self.desk.uow,
            [f.inbound(self.channel_id, ext, text, author=author, at=now, **fields)],
            now=now,
            policy=self.desk.policy,
            source="test",
        )
        return result.outcomes[0].conversation_id

    def close(self, conversation_id: int, reason: str | None = None) -> None:
        now = self.clock.now()
        assign = actions.Assignment(self.agent.id, None, team_given=False)
        actions.assign(self.desk.uow(), self.agent, conversation_id, assign, now)
        actions.close(self.desk.uow(), self.agent, conversation_id, reason, now)

    def ask(self, minutes: float = 1) -> SurveyReport:
        self.clock.advance(minutes=minutes)
        return ask_after_close(
            self.desk.analytics_uow,
            self.desk.playbook_runtime(),
            now=self.clock.now(),
            token=lambda: f"token-{next(self.tokens):040d}",
        )

    def rows(self, table: Any, *where: Any) -> list[Any]:
        with self.desk.engine.connect() as conn:
            return list(conn.execute(select(table).where(*where).order_by(table.c.id)))

    def surveys(self) -> list[Any]:
        return self.rows(t.surveys)

    def conversation(self, conversation_id: int) -> Any:
        (row,) = self.rows(t.conversations, t.conversations.c.id == conversation_id)
        return row

    def event_types(self, conversation_id: int) -> list[str]:
        return [e.type for e in self.rows(t.events, t.events.c.conversation_id == conversation_id)]


@pytest.fixture
def world(desk: Desk, clock: FrozenClock) -> World:
    now = clock.now()
    world = World(
        desk,
        clock,
        f.channel(desk.uow, "x", "@acme", now),
        f.agent(desk.uow, "sam", now=now),
        itertools.count(1),
    )
    save_version(desk.uow(), desk.parse_playbook, None, RULES, "surveys", now)
    return world


def surveyed_dm(world: World) -> int:
    """A DM conversation, closed and asked its CSAT question."""
    conversation = world.write("d1", "my parcel never came", kind=MessageKind.DM)
    world.close(conversation)
    assert world.ask().sent == 1
    return conversation


class TestAsking:
    def test_a_close_queues_one_question_in_the_outbox(self, world: World) -> None:
        conversation = world.write("t1", "my parcel never came")
        world.close(conversation)
        assert world.ask().sent == 1
        assert world.ask().sent == 0  # the close was considered once
        (survey,) = world.surveys()
        assert (survey.kind, survey.conversation_id, survey.agent_id) == (
            "csat",
            conversation,
            world.agent.id,
        )
        assert survey.token_hash == token_hash(f"token-{1:040d}")
        assert survey.expires_at - survey.asked_at == timedelta(hours=72)
        question = world.rows(t.messages, t.messages.c.id == survey.question_message_id)[0]
        assert question.direction == "outbound"
        assert question.author_agent_id is None  # nobody's reply
        assert question.meta == {"survey": "csat", "reply_mode": "public_reply"}
        assert question.in_reply_to == "t1"
        assert f"http://127.0.0.1:8000/s/token-{1:040d}" in question.text
        (item,) = world.rows(t.outbox)
        assert (item.message_id, item.idempotency_key) == (question.id, f"survey-{survey.id}")
        assert "survey_sent" in world.event_types(conversation)
        closed = world.conversation(conversation)
        assert (closed.status, closed.first_response_at) == ("closed", None)

    def test_a_dm_is_asked_privately(self, world: World) -> None:
        conversation = surveyed_dm(world)
        (survey,) = world.surveys()
        question = world.rows(t.messages, t.messages.c.id == survey.question_message_id)[0]
        assert (question.visibility, question.kind) == ("private", "dm")
        assert question.conversation_id == conversation

    def test_a_reply_that_closes_asks_too(self, world: World) -> None:
        conversation = world.write("t1", "where is my parcel?")
        draft = actions.ReplyDraft(text="It arrives today!", status_after=Status.CLOSED)
        actions.reply(world.desk.uow(), world.agent, conversation, draft, world.clock.now())
        assert world.ask().sent == 1

    def test_the_rules_conditions_apply(self, world: World) -> None:
        conversation = world.write("t1", "I wrote twice")
        world.close(conversation, reason="duplicate")
        assert world.ask().sent == 0
        assert world.surveys() == []

    def test_a_template_with_the_link_replaces_the_question(self, world: World) -> None:
        now = world.clock.now()
        body = "Hi {customer.first_name}, rate us 0-10: {survey.link}"
        create_template(world.desk.uow(), None, "nps_q", body, now)
        rules = RULES.replace("[{survey: csat}]", "[{survey: {kind: nps, template: nps_q}}]")
        save_version(world.desk.uow(), world.desk.parse_playbook, None, rules, "nps", now)
        conversation = world.write("t1", "my parcel never came")
        world.close(conversation)
        assert world.ask().sent == 1
        (survey,) = world.surveys()
        (question,) = world.rows(t.messages, t.messages.c.id == survey.question_message_id)
        assert survey.kind == "nps"
        assert question.text == f"Hi Cust-1, rate us 0-10: http://127.0.0.1:8000/s/token-{1:040d}"

    def test_a_customer_asked_lately_is_not_asked_again(self, world: World) -> None:
        first = world.write("t1", "my parcel never came")
        world.close(first)
        assert world.ask().sent == 1
        world.clock.advance(days=3)
        second = world.write("t2", "and the other parcel?")
        world.close(second)
        report = world.ask()
        assert report.sent == 0
        assert "within the quiet period" in report.notes[0]
        world.clock.advance(days=5)
        third = world.write("t3", "a third parcel")
        world.close(third)
        assert world.ask().sent == 1

    def test_no_question_outside_the_messenger_window(self, world: World) -> None:
        now = world.clock.now()
        world.channel_id = f.channel(world.desk.uow, "facebook", "Acme page", now)
        conversation = world.write("m1", "hello?", kind=MessageKind.DM)
        world.clock.advance(hours=25)
        world.close(conversation)
        report = world.ask()
        assert report.sent == 0
        assert "24 hours" in report.notes[0]

    def test_a_reopened_conversation_is_not_asked(self, world: World) -> None:
        conversation = world.write("t1", "my parcel never came")
        world.close(conversation)
        world.write("t2", "wait, one more thing", in_reply_to="t1")
        assert world.ask().sent == 0

    def test_closes_from_long_ago_are_history(self, world: World) -> None:
        conversation = world.write("t1", "my parcel never came")
        world.close(conversation)
        assert world.ask(minutes=25 * 60).sent == 0


class TestAnswerByMessage:
    def test_a_score_alone_is_stored_and_the_conversation_stays_closed(self, world: World) -> None:
        conversation = surveyed_dm(world)
        answer = world.write("d2", "5, thanks!", kind=MessageKind.DM)
        assert answer == conversation
        (survey,) = world.surveys()
        (message,) = world.rows(t.messages, t.messages.c.external_id == "d2")
        assert (survey.score, survey.answered_via, survey.answer_message_id) == (
            5,
            "message",
            message.id,
        )
        assert message.meta == {"survey_answer": {"survey_id": survey.id, "score": 5}}
        row = world.conversation(conversation)
        assert (row.status, row.waiting_since, row.message_count) == ("closed", None, 2)
        events = world.event_types(conversation)
        assert "survey_answered" in events
        assert "conversation_reopened" not in events

    def test_a_score_with_a_new_problem_reopens(self, world: World) -> None:
        conversation = surveyed_dm(world)
        world.write("d2", "2 - and my router still drops every evening", kind=MessageKind.DM)
        (survey,) = world.surveys()
        assert survey.score == 2
        assert world.conversation(conversation).status == "open"
        assert "conversation_reopened" in world.event_types(conversation)

    def test_a_new_complaint_is_not_an_answer(self, world: World) -> None:
        conversation = surveyed_dm(world)
        world.write("d2", "my order 12345 still not here", kind=MessageKind.DM)
        (survey,) = world.surveys()
        assert survey.score is None
        assert world.conversation(conversation).status == "open"

    def test_an_expired_survey_takes_no_answer(self, world: World) -> None:
        conversation = surveyed_dm(world)
        world.clock.advance(hours=73)
        world.write("d2", "5", kind=MessageKind.DM)
        (survey,) = world.surveys()
        assert survey.score is None
        assert world.conversation(conversation).status == "open"

    def test_a_second_score_is_a_message_like_any(self, world: World) -> None:
        conversation = surveyed_dm(world)
        world.write("d2", "5", kind=MessageKind.DM)
        world.write("d3", "4", kind=MessageKind.DM)
        (survey,) = world.surveys()
        assert survey.score == 5
        assert world.conversation(conversation).status == "open"

    def test_another_customer_cannot_answer(self, world: World) -> None:
        conversation = world.write("t1", "my parcel never came")
        world.close(conversation)
        world.ask()
        world.write("t2", "5", author="someone-else", in_reply_to="t1")
        (survey,) = world.surveys()
        assert survey.score is None

    def test_an_answer_posted_apart_joins_the_surveyed_conversation(self, world: World) -> None:
        conversation = world.write("t1", "my parcel never came")
        world.close(conversation)
        world.ask()
        answered = world.write("t2", "@acme 4/5")  # a new post, not a reply: no thread
        assert answered == conversation
        (survey,) = world.surveys()
        assert survey.score == 4
        assert len(world.rows(t.conversations)) == 1

    def test_an_answer_with_more_posted_apart_opens_a_conversation(self, world: World) -> None:
        conversation = world.write("t1", "my parcel never came")
        world.close(conversation)
        world.ask()
        other = world.write("t2", "1. The replacement is broken too")
        assert other != conversation
        (survey,) = world.surveys()
        assert survey.score == 1
        assert world.conversation(other).status == "open"


class TestAnswerByLink:
    token = f"token-{1:040d}"

    def test_a_score_on_the_page_is_stored_once(self, world: World) -> None:
        conversation = surveyed_dm(world)
        page = answer_by_link(world.desk.analytics_uow, self.token, 4, world.clock.now())
        assert (page.score, page.state.value, page.brand) == (4, "answered", "@acme")
        (survey,) = world.surveys()
        assert (survey.score, survey.answered_via, survey.answer_message_id) == (4, "link", None)
        assert "survey_answered" in world.event_types(conversation)
        with pytest.raises(Conflict, match="answered already"):
            answer_by_link(world.desk.analytics_uow, self.token, 5, world.clock.now())
        assert world.surveys()[0].score == 4

    def test_refusals_change_nothing(self, world: World) -> None:
        surveyed_dm(world)
        before = world.surveys()
        uow, now = world.desk.analytics_uow, world.clock.now()
        with pytest.raises(NotFound):
            answer_by_link(uow, "token-" + "9" * 40, 4, now)
        with pytest.raises(InvalidInput, match="from 1 to 5"):
            answer_by_link(uow, self.token, 6, now)
        with pytest.raises(Conflict, match="closed"):
            answer_by_link(uow, self.token, 4, now + timedelta(hours=72))
        assert world.surveys() == before
