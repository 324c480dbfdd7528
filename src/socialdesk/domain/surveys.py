"""Surveys: a CSAT (1-5) or NPS (0-10) question asked in the conversation's channel after it
closes, and the answer, read from the customer's next message or given on the answer page.

Pure: no I/O; time comes in as `now`. The playbook decides *whether* a closed conversation gets a
survey (rules with `trigger: close`, domain/playbook.py); this module holds what is true of every
survey whatever the playbook says: when one may be asked at all (`reason_not_to_ask`), what the
question says by default, and how a survey takes its one answer. Reading a message as an answer
is in domain/survey_answers.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from socialdesk.domain.errors import Conflict, InvalidInput
from socialdesk.domain.platforms import PlatformCapabilities
from socialdesk.domain.survey_answers import SCALES


class SurveyKind(StrEnum):
    CSAT = "csat"
    NPS = "nps"

    @property
    def scale(self) -> tuple[int, int]:
        """The lowest and highest score."""
        return SCALES[self.value]

    @property
    def label(self) -> str:
        return self.value.upper()


class SurveyState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    EXPIRED = "expired"


class AnsweredVia(StrEnum):
    MESSAGE = "message"
    LINK = "link"


QUESTIONS = {
    SurveyKind.CSAT: (
        "How satisfied are you with the help you got from us? Reply with a number from 1 (not "
        "at all) to 5 (very), or answer here: {link}"
    ),
    SurveyKind.NPS: (
        "How likely are you to recommend us to a friend? Reply with a number from 0 (not at "
        "all) to 10 (extremely), or answer here: {link}"
    ),
}


def default_question(kind: SurveyKind, link: str) -> str:
    """The question sent when the playbook names no template."""
    return QUESTIONS[kind].format(link=link)


def token_hash(token: str) -> str:
    """What is stored of an answer link's token (SHA-256, hex): enough to find the survey when
    the link is opened, useless for answering on the customer's behalf."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def answer_link(public_url: str, token: str) -> str:
    """Where the customer can answer with a click: the desk's public page for this token."""
    return f"{public_url.rstrip('/')}/s/{token}"


@dataclass(slots=True)
class Survey:
    """One question asked after one close, to the customer of `conversation_id`.

    `team_id` and `agent_id` are the conversation's when it closed, so a score stays with the
    people who earned it even if the conversation moves later. Only a hash of the answer link's
    token is kept: whoever reads the database cannot answer for the customer.
    """

    conversation_id: int
    kind: SurveyKind
    channel_id: int
    platform: str
    token_hash: str
    asked_at: datetime
    expires_at: datetime
    team_id: int | None = None
    agent_id: int | None = None
    question_message_id: int | None = None
    score: int | None = None
    answered_at: datetime | None = None
    answered_via: AnsweredVia | None = None
    answer_message_id: int | None = None
    id: int | None = None

    def state(self, now: datetime) -> SurveyState:
        if self.score is not None:
            return SurveyState.ANSWERED
        return SurveyState.OPEN if now < self.expires_at else SurveyState.EXPIRED

    def takes_answer_at(self, at: datetime) -> bool:
        """Whether a message written at `at` can answer it: after the question, before expiry,
        and only while unanswered (the first answer counts)."""
        return self.score is None and self.asked_at <= at < self.expires_at

    def answer(
        self, score: int, at: datetime, via: AnsweredVia, message_id: int | None = None
    ) -> None:
        """Take the answer; refused (Conflict) once answered or expired, (InvalidInput) off the
        scale. Nothing changes when it is refused."""
        state = self.state(at)
        if state is SurveyState.ANSWERED:
            raise Conflict("this survey has been answered already; thank you!")
        if state is SurveyState.EXPIRED:
            raise Conflict("this survey has closed; thank you all the same")
        low, high = self.kind.scale
        if isinstance(score, bool) or not low <= score <= high:
            raise InvalidInput(f"choose a score from {low} to {high}", field="score")
        self.score = score
        self.answered_at = at
        self.answered_via = via
        self.answer_message_id = message_id


def reason_not_to_ask(
    *,
    suppressed: bool,
    private: bool,
    caps: PlatformCapabilities,
    last_inbound_at: datetime | None,
    last_asked_at: datetime | None,
    quiet_period: timedelta,
    now: datetime,
) -> str | None:
    """Why no survey may follow this close (a sentence for the record), or None when one may.

    Never after a suppressed conversation (nobody answered it: there is nothing to rate), never
    where the platform takes no written message in this conversation (a phone call; a private
    conversation on a platform without private messages), never outside the platform's reply
    window (Messenger, Instagram and WhatsApp refuse private messages 24 hours after the
    customer's last one: the send would fail), and not again for a customer asked within the
    quiet period (on any channel), so nobody is asked after every contact.
    """
    if suppressed:
        return "the conversation was suppressed"
    if private and not caps.private_message:
        return f"{caps.label} takes no private messages"
    if not private and not caps.public_reply:
        return f"{caps.label} takes no public replies"
    window = caps.reply_window_hours
    if (
        private
        and window is not None
        and (last_inbound_at is None or now - last_inbound_at > timedelta(hours=window))
    ):
        return f"{caps.label} allows messages only {window} hours after the customer's last"
    if last_asked_at is not None and now - last_asked_at < quiet_period:
        return f"the customer was asked on {last_asked_at:%Y-%m-%d}, within the quiet period"
    return None
