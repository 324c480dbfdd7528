"""Survey answers in the customer's own words, found during intake and stored in its transaction.

Why at intake and not in the worker after triage: whether a message only answers the survey
decides where it goes, and that is intake's decision. A message that is only a score must not
reopen the closed conversation, nor start a new one in the queue. Taken in first and closed again
by the worker, it would flash through the queue, write a reopening into the event log and the
reporting facts, and start an SLA clock for nothing. Reading a score is string work
(domain/survey_answers.py), and finding the open surveys costs one indexed statement per batch.

A message *with more than a score* ("2 - and my router still drops") is placed like any other
(it reopens the conversation or starts a new one, and goes to an agent); its score still counts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from socialdesk.domain.conversations import Conversation
from socialdesk.domain.events import Event, SurveyAnswered
from socialdesk.domain.messages import Message
from socialdesk.domain.survey_answers import Answer, read_answer
from socialdesk.domain.surveys import AnsweredVia, Survey
from socialdesk.domain.threading import ThreadDecision
from socialdesk.services.ports import SurveyUnitOfWork, UnitOfWork


@dataclass(frozen=True, slots=True)
class Reading:
    """A message read as the answer to `survey`."""

    survey: Survey
    answer: Answer


class BatchAnswers:
    """The open surveys of one intake batch's customers, and the answers found in its messages.

    Units of work that store no surveys (the core's in-memory fakes) find none, so intake behaves
    exactly as it does without surveys.
    """

    def __init__(self, unit: UnitOfWork) -> None:
        self.store = unit.surveys if isinstance(unit, SurveyUnitOfWork) else None
        self.open: dict[tuple[int, int], Survey] = {}  # (channel id, customer id) → newest
        self.taken: list[tuple[Survey, Message]] = []

    def load(self, customer_ids: Collection[int], since: datetime) -> set[int]:
        """Find the customers' unanswered surveys that expire after `since`; returns the ids of
        the conversations they were asked in (an answer may join one of those)."""
        if self.store is None or not customer_ids:
            return set()
        for customer_id, survey in self.store.awaiting(customer_ids, since):
            self.open[(survey.channel_id, customer_id)] = survey  # oldest first: newest stays
        return {survey.conversation_id for survey in self.open.values()}

    def read(
        self,
        channel_id: int,
        customer_id: int,
        text: str,
        at: datetime,
        thread: tuple[Conversation | None, ThreadDecision],
    ) -> Reading | None:
        """The answer in a customer's message, when it answers their open survey on this channel:
        written after the question and before it expired, as what would reopen the surveyed
        conversation or start a new one. A message that joins a conversation still open (or
        reopens another) is about that conversation, not the survey."""
        survey = self.open.get((channel_id, customer_id))
        if survey is None or not survey.takes_answer_at(at):
            return None
        candidate, decision = thread
        if decision is ThreadDecision.JOIN:
            return None
        if decision is ThreadDecision.REOPEN and (
            candidate is None or candidate.id != survey.conversation_id
        ):
            return None
        answer = read_answer(text, survey.kind.value)
        return None if answer is None else Reading(survey, answer)

    def take(self, reading: Reading, message: Message, at: datetime) -> None:
        """Record the answer (written by `flush`, once the message has its id) and mark the
        message as one, so the thread and the reports can tell."""
        survey, score = reading.survey, reading.answer.score
        survey.answer(score, at, AnsweredVia.MESSAGE)
        message.meta["survey_answer"] = {"survey_id": survey.id, "score": score}
        self.taken.append((survey, message))

    def flush(self, now: datetime) -> list[Event]:
        """Store the answers taken; returns their events. Messages must be stored already."""
        events: list[Event] = []
        for survey, message in self.taken:
            assert self.store is not None
            assert survey.id is not None
            assert survey.score is not None
            survey.answer_message_id = message.id
            self.store.save_answer(survey)
            events.append(
                SurveyAnswered(
                    occurred_at=now,
                    conversation_id=survey.conversation_id,
                    survey_id=survey.id,
                    kind=survey.kind.value,
                    score=survey.score,
                    via=AnsweredVia.MESSAGE.value,
                    message_id=message.id,
                )
            )
        return events
