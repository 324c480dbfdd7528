"""Language, spam and built-in intents on odd and ordinary posts."""

from __future__ import annotations

import random
import re

import pytest

from socialdesk.adapters.classifiers.intents import RULES, builtin_intent, is_question
from socialdesk.adapters.classifiers.language import BATCH_WALK_MIN, LanguageGuesser
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


PHRASES = (
    "where is my parcel order refund thanks great awful help please",
    "dónde está mi pedido gracias ayuda por favor nunca llegó",
    "wo ist mein Paket danke hilfe bitte kaputt angekommen",
    "où est ma commande merci aide jamais arrivée",
    "где моя посылка спасибо помогите пожалуйста",
    "我的 包裹 在 哪里 谢谢 帮助",
    "gdje je moj paket hvala где је мој пакет хвала",
    "buyurtmam qayerda rahmat буюртмам қаерда",
    "😡 🙏 @brand #fail https://t.co/x 0800 123",
)
WORDS = [word for phrase in PHRASES for word in phrase.split()]


def batch_of_posts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    posts = [" ".join(rng.choices(WORDS, k=rng.randint(1, 30))) for _ in range(count)]
    posts += ["", "😡😡😡", "WHERE IS MY ORDER", "bad \ud800 escape", "долго " * 200]
    return posts


@pytest.mark.parametrize("languages", [None, ("en", "sr", "uz", "ru", "hr")])
def test_a_batch_is_guessed_as_one_post_at_a_time(languages: tuple[str, ...] | None) -> None:
    """The batch walk gives py3langid's own answers (one post at a time is py3langid's loop),
    including languages it knows under two scripts (sr, uz) and posts too long to walk along."""
    guesser = LanguageGuesser(languages) if languages else LanguageGuesser()
    posts = batch_of_posts(seed=len(languages or ()), count=300)
    assert len(posts) >= BATCH_WALK_MIN
    together = guesser.guess_many(posts)
    alone = [guesser.guess(post) for post in posts]
    assert [language for language, _ in together] == [language for language, _ in alone]
    # float32 sums in another order: the fifth decimal may differ
    assert max(abs(a[1] - b[1]) for a, b in zip(together, alone, strict=True)) < 1e-4
    assert len({language for language, _ in together}) >= 4


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
