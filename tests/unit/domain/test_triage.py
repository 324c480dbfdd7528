"""The priority policy: every factor counts, each contribution is kept, weights are settings."""

from __future__ import annotations

import pytest

from socialdesk.domain.triage import (
    PiiFinding,
    PriorityContext,
    PriorityWeights,
    TextSignals,
    score_priority,
    signals_from_json,
    signals_to_json,
)


def signals(negative: float = 0.0, needs: float = 0.0, spam: float = 0.0) -> TextSignals:
    return TextSignals(
        sentiment="negative" if negative > 0.5 else "neutral",
        sentiment_p={"negative": negative, "neutral": 1 - negative, "positive": 0.0},
        needs_response=needs > 0.5,
        needs_response_p=needs,
        intent="billing",
        intent_p=0.8,
        intent_model="builtin",
        language="en",
        language_p=0.99,
        pii=(PiiFinding("email", 3, 20, "a***@x.com"),),
        spam_p=spam,
        question=False,
        model_version="test",
    )


W = PriorityWeights()


def test_nothing_urgent_scores_zero() -> None:
    assert score_priority(signals(), PriorityContext(), W).score == 0


def test_an_angry_complaint_from_a_big_verified_vip_who_waited_scores_full() -> None:
    context = PriorityContext(followers=1_000_000, verified=True, vip=True, waited_minutes=60)
    priority = score_priority(signals(1.0, 1.0), context, W)
    assert priority.score == 100
    assert {f.name: f.points for f in priority.factors} == {
        "needs_response": 40.0,
        "negativity": 20.0,
        "reach": 10.0,
        "verified": 5.0,
        "vip": 10.0,
        "waiting": 15.0,
        "spam": -0.0,
    }


def test_each_factor_explains_itself() -> None:
    context = PriorityContext(followers=12_000, waited_minutes=30, target_minutes=60)
    priority = score_priority(signals(0.8, 0.9), context, W)
    why = priority.explain()
    assert why.startswith("needs_response +36 (p=0.90)")
    assert "12,000 followers" in why
    assert "waiting +8 (30 of 60 min)" in why
    assert priority.score == round(36 + 16 + 10 * 4.0792 / 6.0000 + 7.5)


def test_waiting_saturates_at_the_target_and_spam_subtracts() -> None:
    long_wait = score_priority(signals(needs=1.0), PriorityContext(waited_minutes=600), W)
    assert {f.name: f.points for f in long_wait.factors}["waiting"] == 15.0
    spammy = score_priority(signals(needs=1.0, spam=0.9), PriorityContext(), W)
    assert spammy.score == 0


def test_weights_are_configurable_and_checked() -> None:
    reach_first = PriorityWeights.from_mapping({"reach": 60, "needs_response": 10})
    context = PriorityContext(followers=1_000_000)
    assert score_priority(signals(needs=1.0), context, reach_first).score == 70
    with pytest.raises(ValueError, match="unknown priority weight"):
        PriorityWeights.from_mapping({"urgency": 3})
    with pytest.raises(ValueError, match="must not be negative"):
        PriorityWeights.from_mapping({"reach": -1})


def test_signals_survive_a_json_round_trip() -> None:
    original = signals(0.7, 0.6)
    assert signals_from_json(signals_to_json(original)) == original
