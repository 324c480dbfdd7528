"""Language, spam and built-in intents on odd and ordinary posts."""

from __future__ import annotations

import re

import pytest

from socialdesk.adapters.classifiers.intents import RULES, builtin_intent, is_question
from socialdesk.adapters.classifiers.language import LanguageGuesser
from socialdesk.adapters.classifiers.spam import spam_probability


@pytest.fixture(scope="module")
def guesser() -> LanguageGuesser:
    return LanguageGuesser()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("@AcmeHelp where is my parcel? it was due on Monday", "en"),
        ("Mi pedido no llegó y nadie me responde", "es"),
        ("Mein Paket ist kaputt angekommen, bitte helfen Sie mir", "de"),
        ("Ma commande n'est jamais arrivée", "fr"),
        ("где моя посылка, прошла уже неделя", "ru"),
        ("我的包裹在哪里", "zh"),
        ("😡😡😡", "und"),
        ("", "und"),
        ("@brand #fail http://t.co/x", "und"),
    ],
)
def test_language(guesser: LanguageGuesser, text: str, language: str) -> None:
    assert guesser.guess(text)[0] == language


def test_language_set_is_narrowed_and_checked() -> None:
    narrow = LanguageGuesser(("en", "es"))
    assert narrow.guess("Mi pedido no llegó y nadie me responde")[0] == "es"
    assert narrow.guess("Mein Paket ist kaputt angekommen, bitte helfen Sie mir")[0] in {
        "en",
        "es",
        "und",
    }
    with pytest.raises(ValueError, match=r"unknown language code.*xx"):
        LanguageGuesser(("en", "xx"))


def test_spam_scores_bait_high_and_care_posts_low() -> None:
    assert (
        spam_probability("WIN FREE BITCOIN!!! click https://x.co #crypto #free #win #giveaway")
        > 0.8
    )
    assert spam_probability("@AcmeHelp my order never arrived, can you help?") < 0.05
    assert 0 <= spam_probability("a" * 70_000) <= 1


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("@AcmeHelp where is my order? still waiting", "order_status"),
        ("the courier left my parcel in the rain", "delivery"),
        ("I want a refund for the broken kettle", "refund_return"),
        ("why was I charged twice on my bill", "billing"),
        ("locked out of my account, the reset link never arrives", "account_access"),
        ("the app keeps crashing since the update", "technical_problem"),
        ("do you have the pixel 9 in stock?", "product_question"),
        ("your driver was so rude to my mother", "complaint_about_staff"),
        ("lovely weather today", "other"),
    ],
)
def test_builtin_intents(text: str, intent: str) -> None:
    found, confidence, reason = builtin_intent(text, positive=0.1, needs_response=0.8)
    assert found == intent
    assert 0 < confidence <= 1
    assert reason


def test_intents_ignore_case_and_quote_what_matched() -> None:
    """The patterns read lowered text, so every pattern must be lower case (a class or escape
    such as \\S aside) or it could never match."""
    for patterns in RULES.values():
        for pattern in patterns:
            assert re.sub(r"\\[A-Z]", "", pattern) == re.sub(r"\\[A-Z]", "", pattern).lower()
    found, _, reason = builtin_intent(
        "WHERE IS MY ORDER?? Tracking says nothing", positive=0.1, needs_response=0.9
    )
    assert found == "order_status"
    assert reason == "matched 'where is my order', 'tracking'"


def test_praise_needs_a_positive_post_without_a_request() -> None:
    assert (
        builtin_intent("thanks, amazing service!", positive=0.9, needs_response=0.1)[0] == "praise"
    )
    assert builtin_intent("thanks for nothing", positive=0.1, needs_response=0.8)[0] == "other"
    assert builtin_intent("you made my day", positive=0.9, needs_response=0.05)[0] == "praise"


def test_questions() -> None:
    assert is_question("is the store open on sunday")
    assert is_question("@brand how do I reset my password")
    assert not is_question("my order is late")
