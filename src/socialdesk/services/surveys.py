"""Surveys: asking the customer after a close (the worker's `surveyed` job), and taking the answer
given on the answer page. Answers written as messages are taken by intake
(services/survey_answers.py).

Asking is driven by the event log, not by the close itself: every way a conversation closes (an
agent's close, a reply sent with "close", the API, the demo) writes `conversation_closed`, and the
job reads those events after its cursor (`report_cursors`, row `surveys`) in the same transaction
that queues the questions and moves the cursor. So each close is considered exactly once, with
several workers too (the cursor row is locked), and the agent's close stays as fast as it was.
For each close still standing, the live playbook's `trigger: close` rules run on the
conversation's latest customer message (with its team, tags and close reason); when they ask for a
survey and nothing forbids it (domain/surveys.py `reason_not_to_ask`), the question is queued in
the outbox like the auto-acknowledgement, under the key `survey-{id}`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from socialdesk.domain.conversations import Conversation, Status
from socialdesk.domain.errors import DomainError, NotFound
from socialdesk.domain.events import SurveyAnswered, SurveySent
from socialdesk.domain.messages import Visibility
from socialdesk.domain.playbook import AskSurvey, Facts, Playbook
from socialdesk.domain.surveys import (
    AnsweredVia,
    Survey,
    SurveyKind,
    SurveyState,
    answer_link,
    default_question,
    reason_not_to_ask,
    token_hash,
)
from socialdesk.services.automatic_replies import automatic_message, queue_message
from socialdesk.services.playbooks import HISTORY, Runtime, calendar_for
from socialdesk.services.ports import AnalyticsUnitOfWork, AnalyticsUnitOfWorkFactory
from socialdesk.services.templates import render_for

CURSOR = "surveys"
BATCH = 500
TOKEN_BYTES = 32  # 256 bits: guessing a live link is hopeless, so the page needs no login


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


@dataclass(slots=True)
class SurveyReport:
    """One pass of the job: events read, questions queued, and why closes got none."""

    read: int = 0
    sent: int = 0
    notes: list[str] = field(default_factory=list)


def ask_after_close(
    uow: AnalyticsUnitOfWorkFactory,
    runtime: Runtime,
    *,
    now: datetime,
    limit: int = BATCH,
    token: Callable[[], str] = new_token,
) -> SurveyReport:
    """Read up to `limit` events after the cursor and ask about the closes among them."""
    report = SurveyReport()
    with uow() as unit:
        after = unit.reporting.cursor(CURSOR)
        closes, last, report.read = unit.surveys.closes_after(after, limit)
        _, playbook = runtime.live.current(unit) if closes else (None, None)
        for _, conversation_id, closed_at in closes:
            if playbook is None or not playbook.runs_on_close:
                break
            if now - closed_at > HISTORY:
                continue  # a close from long ago (first run, a worker down for a day): not news
            outcome = _ask(unit, runtime, playbook, conversation_id, now, token)
            if isinstance(outcome, Survey):
                report.sent += 1
            elif outcome is not None:
                report.notes.append(f"conversation {conversation_id}: {outcome}")
        unit.reporting.set_cursor(CURSOR, last)
        unit.commit()
    return report


def _ask(
    unit: AnalyticsUnitOfWork,
    runtime: Runtime,
    playbook: Playbook,
    conversation_id: int,
    now: datetime,
    token: Callable[[], str],
) -> Survey | str | None:
    """The survey queued for one closed conversation, or why there is none (None: no rule asks
    for one)."""
    conversation = unit.conversations.get(conversation_id, for_update=True)
    if conversation is None or conversation.status is not Status.CLOSED:
        return None  # reopened since: its next close will be considered
    latest = unit.messages.latest_inbound(conversation_id)
    facts = _closing_facts(unit, runtime, conversation, latest.id, now) if latest else None
    if facts is None:
        return None  # nobody wrote to us: there is no one to ask
    ask = playbook.on_close(facts).survey
    if ask is None:
        return None
    previous = unit.surveys.latest_for_conversation(conversation_id)
    if (
        previous is not None
        and conversation.closed_at
        and previous.asked_at >= conversation.closed_at
    ):
        return "a survey was asked after this close already"
    caps = runtime.capabilities(conversation.platform)
    reason = reason_not_to_ask(
        suppressed=conversation.suppressed_reason is not None,
        private=conversation.visibility is Visibility.PRIVATE,
        caps=caps,
        last_inbound_at=conversation.last_inbound_at,
        last_asked_at=unit.surveys.last_asked(conversation.customer_id),
        quiet_period=timedelta(days=ask.quiet_days),
        now=now,
    )
    if reason is not None:
        return f"no survey: {reason}"
    secret = token()
    try:
        text = _question(unit, runtime, conversation, ask, answer_link(runtime.public_url, secret))
    except DomainError as exc:  # the template went, or renders to nothing: skip, do not stall
        return f"no survey: {exc.message}"
    if caps.max_length is not None and len(text) > caps.max_length:
        return (
            f"no survey: the question has {len(text)} characters, {caps.label} allows "
            f"{caps.max_length}"
        )
    return _queue(unit, conversation, ask, text, token_hash(secret), now)


def _closing_facts(
    unit: AnalyticsUnitOfWork,
    runtime: Runtime,
    conversation: Conversation,
    latest_id: int | None,
    now: datetime,
) -> Facts | None:
    """What close rules see: the latest customer message's facts with the conversation's own
    team, tags, close reason, intent and sentiment, and whether it closed in business hours."""
    found = unit.messages.playbook_facts([latest_id]) if latest_id is not None else []
    if not found:
        return None
    facts = found[0][0]
    team = unit.teams.get(conversation.team_id) if conversation.team_id is not None else None
    calendar = calendar_for(unit, runtime.holidays, conversation.team_id, now)
    return replace(
        facts,
        team=team.name if team else None,
        conversation_tags=frozenset(conversation.tags),
        close_reason=conversation.close_reason,
        intent=conversation.intent or facts.intent,
        sentiment=conversation.sentiment or facts.sentiment,
        business_hours=calendar.is_open(now),
    )


def _question(
    unit: AnalyticsUnitOfWork,
    runtime: Runtime,
    conversation: Conversation,
    ask: AskSurvey,
    link: str,
) -> str:
    """The playbook's template (with `{survey.link}` filled in) or the default question."""
    kind = SurveyKind(ask.kind)
    if ask.template is None:
        return default_question(kind, link)
    assert conversation.id is not None
    rendered = render_for(
        unit, ask.template, conversation.id, None, runtime.capabilities, {"survey.link": link}
    )
    return rendered.text


def _queue(
    unit: AnalyticsUnitOfWork,
    conversation: Conversation,
    ask: AskSurvey,
    text: str,
    hashed: str,
    now: datetime,
) -> Survey:
    """Store the question, the survey and its outbox item, with its event, in the caller's unit."""
    assert conversation.id is not None
    kind = SurveyKind(ask.kind)
    message = automatic_message(unit, conversation, text, {"survey": kind.value}, now)
    survey = Survey(
        conversation_id=conversation.id,
        kind=kind,
        channel_id=conversation.channel_id,
        platform=conversation.platform,
        token_hash=hashed,
        asked_at=now,
        expires_at=now + timedelta(hours=ask.expires_hours),
        team_id=conversation.team_id,
        agent_id=conversation.assignee_id,
        question_message_id=message.id,
    )
    unit.surveys.add(survey)
    assert survey.id is not None
    assert message.id is not None
    queue_message(unit, conversation, message, f"survey-{survey.id}", now)
    unit.events.append(
        [
            SurveySent(
                occurred_at=now,
                conversation_id=conversation.id,
                survey_id=survey.id,
                kind=kind.value,
                message_id=message.id,
            )
        ]
    )
    return survey


# -- the answer page --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SurveyPage:
    """What the public answer page shows: the scale, whether it still takes an answer, and the
    brand that asks (the channel's name)."""

    kind: SurveyKind
    state: SurveyState
    score: int | None
    brand: str
    token_hash: str


def survey_page(uow: AnalyticsUnitOfWorkFactory, token: str, now: datetime) -> SurveyPage:
    """The survey behind an answer link; NotFound for a link that is not one."""
    with uow(read_only=True) as unit:
        survey = _by_token(unit, token, for_update=False)
        return _page(unit, survey, now)


def answer_by_link(
    uow: AnalyticsUnitOfWorkFactory, token: str, score: int, now: datetime
) -> SurveyPage:
    """Take the score given on the answer page. Refused, changing nothing, when the link is not
    one (NotFound), the survey is answered or expired (Conflict) or the score is off the scale
    (InvalidInput)."""
    with uow() as unit:
        survey = _by_token(unit, token, for_update=True)
        survey.answer(score, now, AnsweredVia.LINK)
        assert survey.id is not None
        unit.surveys.save_answer(survey)
        unit.events.append(
            [
                SurveyAnswered(
                    occurred_at=now,
                    conversation_id=survey.conversation_id,
                    survey_id=survey.id,
                    kind=survey.kind.value,
                    score=score,
                    via=AnsweredVia.LINK.value,
                    message_id=None,
                )
            ]
        )
        page = _page(unit, survey, now)
        unit.commit()
    return page


def _by_token(unit: AnalyticsUnitOfWork, token: str, *, for_update: bool) -> Survey:
    survey = unit.surveys.by_token_hash(token_hash(token), for_update=for_update)
    if survey is None:
        raise NotFound("this survey link is not valid; check that the whole link was copied")
    return survey


def _page(unit: AnalyticsUnitOfWork, survey: Survey, now: datetime) -> SurveyPage:
    channel = unit.channels.get(survey.channel_id)
    return SurveyPage(
        kind=survey.kind,
        state=survey.state(now),
        score=survey.score,
        brand=channel.name if channel else "us",
        token_hash=survey.token_hash,
    )
