"""Surveys: when one may be asked at all, the default questions, and taking the one answer."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from socialdesk.domain.errors import Conflict, InvalidInput
from socialdesk.domain.platforms import capabilities_for
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
from tests.factories import T0

WEEK = timedelta(days=7)


def survey(kind: SurveyKind = SurveyKind.CSAT) -> Survey:
    return Survey(
        conversation_id=1,
        kind=kind,
        channel_id=1,
        platform="x",
        token_hash="h",
        asked_at=T0,
        expires_at=T0 + timedelta(hours=72),
    )


class TestAnswer:
    def test_the_first_answer_counts_and_later_ones_are_refused(self) -> None:
        s = survey()
        s.answer(4, T0 + timedelta(hours=1), AnsweredVia.LINK)
        assert (s.score, s.answered_via, s.state(T0)) == (4, AnsweredVia.LINK, SurveyState.ANSWERED)
        with pytest.raises(Conflict, match="answered already"):
            s.answer(5, T0 + timedelta(hours=2), AnsweredVia.LINK)
        assert s.score == 4

    def test_an_expired_survey_takes_no_answer(self) -> None:
        s = survey()
        late = T0 + timedelta(hours=72)
        assert s.state(late) is SurveyState.EXPIRED
        assert not s.takes_answer_at(late)
        with pytest.raises(Conflict, match="closed"):
            s.answer(4, late, AnsweredVia.LINK)
        assert s.score is None

    @pytest.mark.parametrize(
        ("kind", "score"), [("csat", 0), ("csat", 6), ("nps", 11), ("nps", -1)]
    )
    def test_a_score_off_the_scale_is_refused(self, kind: str, score: int) -> None:
        s = survey(SurveyKind(kind))
        with pytest.raises(InvalidInput, match="choose a score"):
            s.answer(score, T0, AnsweredVia.LINK)
        assert s.score is None

    def test_only_messages_written_after_the_question_answer_it(self) -> None:
        s = survey()
        assert not s.takes_answer_at(T0 - timedelta(seconds=1))
        assert s.takes_answer_at(T0)


class TestReasonNotToAsk:
    def ask(self, platform: str = "x", **changes: object) -> str | None:
        values: dict[str, object] = {
            "suppressed": False,
            "private": False,
            "caps": capabilities_for(platform),
            "last_inbound_at": T0,
            "last_asked_at": None,
            "quiet_period": WEEK,
            "now": T0 + timedelta(hours=1),
        }
        values.update(changes)
        return reason_not_to_ask(**values)  # type: ignore[arg-type]

    def test_a_public_x_conversation_may_be_asked(self) -> None:
        assert self.ask() is None

    def test_a_suppressed_conversation_is_not_asked(self) -> None:
        assert self.ask(suppressed=True) == "the conversation was suppressed"

    def test_a_phone_call_takes_no_written_question(self) -> None:
        assert self.ask("phone", private=True) == "Phone takes no private messages"

    def test_whatsapp_has_no_public_replies(self) -> None:
        assert self.ask("whatsapp") == "WhatsApp takes no public replies"

    def test_messenger_is_asked_only_within_24_hours_of_the_customer(self) -> None:
        inside = T0 + timedelta(hours=23)
        outside = T0 + timedelta(hours=25)
        assert self.ask("facebook", private=True, now=inside) is None
        assert "24 hours" in (self.ask("facebook", private=True, now=outside) or "")
        assert self.ask("facebook", private=False, now=outside) is None  # a public reply

    def test_a_customer_asked_within_the_quiet_period_is_left_alone(self) -> None:
        now = T0 + timedelta(days=3)
        assert "quiet period" in (self.ask(last_asked_at=T0, now=now) or "")
        assert self.ask(last_asked_at=T0, now=T0 + WEEK) is None
        assert self.ask(last_asked_at=T0, now=now, quiet_period=timedelta(0)) is None


def test_default_questions_carry_the_link_and_fit_a_tweet() -> None:
    link = answer_link("https://desk.acme.example/", "t" * 43)
    assert link == "https://desk.acme.example/s/" + "t" * 43
    for kind in SurveyKind:
        text = default_question(kind, link)
        assert link in text
        assert len(text) <= 280
    assert "1 (not at all) to 5" in default_question(SurveyKind.CSAT, link)
    assert "0 (not at all) to 10" in default_question(SurveyKind.NPS, link)


def test_only_a_hash_of_the_token_is_kept() -> None:
    assert token_hash("abc") == hashlib.sha256(b"abc").hexdigest()
