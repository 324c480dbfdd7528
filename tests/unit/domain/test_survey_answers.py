"""Reading a customer's message as a survey answer: what is read as which score, and, as much,
what must not be read as an answer at all (order numbers, times, new complaints, mixed signals)."""

from __future__ import annotations

import pytest

from socialdesk.domain.survey_answers import Answer, read_answer

CSAT_ANSWERS = [
    # digits and fractions
    ("4", 4),
    ("5!", 5),
    ("4/5", 4),
    ("4 / 5", 4),
    ("4 out of 5", 4),
    ("4 out of 5 stars", 4),
    ("3 of 5", 3),
    ("5/5!!", 5),
    ("5 stars", 5),
    ("5*", 5),
    ("4 ⭐", 4),
    ("1", 1),
    # lead-ins, mentions, politeness
    ("I'd say 4", 4),
    ("I would give you a 5", 5),
    ("my rating is 3", 3),
    ("@AcmeSupport 5", 5),
    ("@AcmeSupport 5 #happy", 5),
    ("Thanks! 5", 5),
    ("Hi, 4. Thank you!", 4),
    ("5, thanks for the help", 5),
    ("5 🎉", 5),
    # number words
    ("five", 5),
    ("Four out of five", 4),
    ("two", 2),
    # stars
    ("⭐⭐⭐⭐", 4),
    ("⭐️⭐️⭐️⭐️⭐️", 5),
    ("★★★☆☆", 3),
    ("⭐ ⭐", 2),
    ("5 ⭐⭐⭐⭐⭐", 5),
    # the face scale and thumbs
    ("😡", 1),
    ("😞", 2),
    ("😐", 3),
    ("🙂", 4),
    ("😍", 5),
    ("😍😍😍", 5),
    ("👍", 5),
    ("👍🏽", 5),
    ("👎", 1),
    ("4 🙂", 4),
    ("4 👍", 4),
    # words
    ("excellent", 5),
    ("Excellent!", 5),
    ("great service, thanks!", 5),
    ("The service was excellent", 5),
    ("good", 4),
    ("very good", 5),
    ("not bad", 4),
    ("meh", 3),
    ("ok", 3),
    ("so-so", 3),
    ("bad", 2),
    ("not happy at all", 2),
    ("terrible", 1),
    ("really bad", 1),
    ("awful 😡", 1),
    ("4, excellent", 4),
    ("Excellent! 5/5", 5),
]


@pytest.mark.parametrize(("text", "score"), CSAT_ANSWERS)
def test_csat_answers_are_read(text: str, score: int) -> None:
    assert read_answer(text, "csat") == Answer(score, only=True)


NPS_ANSWERS = [
    ("9", 9),
    ("10!", 10),
    ("0", 0),
    ("I'd say 9", 9),
    ("nine out of ten", 9),
    ("9/10", 9),
    ("10/10 would recommend", 10),
    ("I'd give you a 10", 10),
    ("ten", 10),
    ("zero", 0),
    ("8, thanks", 8),
    ("9 👍", 9),  # emoji are decoration for NPS
]


@pytest.mark.parametrize(("text", "score"), NPS_ANSWERS)
def test_nps_answers_are_read(text: str, score: int) -> None:
    assert read_answer(text, "nps") == Answer(score, only=True)


NOT_ANSWERS = [
    # numbers that are not scores
    ("my order 12345 still not here", "csat"),
    ("my order 12345 still not here", "nps"),
    ("12345", "csat"),
    ("I waited 2 hours", "csat"),
    ("2 hours and no reply", "csat"),
    ("3 times I called", "csat"),
    ("10:30 I called", "nps"),
    ("$5", "csat"),
    ("100%", "nps"),
    ("5G isn't working", "csat"),
    ("Still broken. 1", "csat"),
    # out of range, ambiguous, not whole
    ("6", "csat"),
    ("0", "csat"),
    ("11", "nps"),
    ("3 or 4", "csat"),
    ("4-5", "csat"),
    ("12345 and 4", "csat"),
    ("4.5", "csat"),
    ("4,5", "csat"),
    ("8/10", "csat"),
    ("4/5", "nps"),
    ("1/2", "csat"),
    # signals that contradict each other
    ("5 😡", "csat"),
    ("😡😍", "csat"),
    ("good, great", "csat"),
    ("1 ⭐⭐⭐⭐⭐", "csat"),
    # words and emoji are not NPS answers
    ("excellent", "nps"),
    ("👍", "nps"),
    ("⭐⭐⭐⭐", "nps"),
    # new complaints, questions, greetings
    ("the app keeps crashing", "csat"),
    ("Good morning, my order hasn't arrived", "csat"),
    ("one more thing: my bill is wrong", "csat"),
    ("#1 service", "csat"),
    ("hello?", "csat"),
    ("thanks", "csat"),
    ("", "csat"),
    ("   ", "nps"),
    ("sehr gut", "csat"),
    ("not sure", "csat"),
]


@pytest.mark.parametrize(("text", "kind"), NOT_ANSWERS)
def test_what_is_not_an_answer(text: str, kind: str) -> None:
    assert read_answer(text, kind) is None


MORE_TO_SAY = [
    ("1 - still broken, my router won't connect", "csat", 1),
    ("2. And my router still drops every evening", "csat", 2),
    ("It was ok but the delivery was late", "csat", 3),
    ("4 but I still need my refund", "csat", 4),
    ("5. My order 12345 never came. 1", "csat", 5),
    ("9, but please fix the app", "nps", 9),
]


@pytest.mark.parametrize(("text", "kind", "score"), MORE_TO_SAY)
def test_an_answer_followed_by_more_keeps_the_score_but_is_not_only_an_answer(
    text: str, kind: str, score: int
) -> None:
    assert read_answer(text, kind) == Answer(score, only=False)


def test_full_width_digits_read_as_digits() -> None:
    assert read_answer("４", "csat") == Answer(4, only=True)


def test_a_long_answer_is_read_from_its_start() -> None:
    text = "5! " + "The agent was friendly. " * 3 + "My next order is 777."
    assert read_answer(text, "csat") == Answer(5, only=False)
