"""Triage results and the priority policy. Pure: the models live behind the Classifier port.

`TextSignals` is what the models say about a text alone (sentiment, needs response, intent,
language, PII, spam). `score_priority` turns signals plus context (the author's reach, the
customer's VIP tag, how long they have waited against the response target) into a 0-100 priority
and keeps each factor's contribution, so an agent can see why a conversation is at the top.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SENTIMENTS = ("negative", "neutral", "positive")

BUILTIN_INTENTS = (
    "order_status",
    "delivery",
    "refund_return",
    "billing",
    "account_access",
    "technical_problem",
    "product_question",
    "complaint_about_staff",
    "praise",
    "other",
)


@dataclass(frozen=True, slots=True)
class PiiFinding:
    """Personal data found in a text. `masked` is safe to show and to log (last digits only)."""

    kind: str
    start: int
    end: int
    masked: str


@dataclass(frozen=True, slots=True)
class TextSignals:
    sentiment: str
    sentiment_p: dict[str, float]
    needs_response: bool
    needs_response_p: float
    intent: str
    intent_p: float
    intent_model: str
    language: str
    language_p: float
    pii: tuple[PiiFinding, ...]
    spam_p: float
    question: bool
    model_version: str
    intent_reason: str = ""

    @property
    def negativity(self) -> float:
        return self.sentiment_p.get("negative", 0.0)


@dataclass(frozen=True, slots=True)
class PriorityWeights:
    """The most points each factor can add (spam subtracts); defaults sum to 100.

    Configurable per desk (`SOCIALDESK_PRIORITY_WEIGHTS`, JSON), because one team cares more about
    reach and another about waiting time.
    """

    needs_response: float = 40.0
    negativity: float = 20.0
    reach: float = 10.0
    verified: float = 5.0
    vip: float = 10.0
    waiting: float = 15.0
    spam: float = 60.0

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> PriorityWeights:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown priority weight(s) {', '.join(unknown)}; use {', '.join(sorted(known))}"
            )
        weights = {k: float(v) for k, v in values.items()}
        if any(v < 0 for v in weights.values()):
            raise ValueError("priority weights must not be negative")
        return cls(**weights)


@dataclass(frozen=True, slots=True)
class PriorityContext:
    """What the text does not say: who wrote it and how long they have waited."""

    followers: int | None = None
    verified: bool = False
    vip: bool = False
    waited_minutes: float = 0.0
    target_minutes: float = 60.0


@dataclass(frozen=True, slots=True)
class TriageInput:
    """A message waiting for triage, with what its priority needs to know besides the text."""

    message_id: int
    conversation_id: int
    text: str
    created_at: Any
    followers: int | None
    verified: bool
    vip: bool


@dataclass(frozen=True, slots=True)
class PriorityFactor:
    name: str
    points: float
    detail: str


@dataclass(frozen=True, slots=True)
class Priority:
    score: int
    factors: tuple[PriorityFactor, ...] = field(default_factory=tuple)

    def explain(self) -> str:
        """ "why is this at the top?" in one line, biggest contributions first."""
        parts = sorted(self.factors, key=lambda f: -abs(f.points))
        return "; ".join(f"{f.name} {f.points:+.0f} ({f.detail})" for f in parts if f.points)


REACH_FULL_AT = 1_000_000  # followers at which the reach factor gives all its points


def score_priority(
    signals: TextSignals, context: PriorityContext, weights: PriorityWeights
) -> Priority:
    """0-100: needs response, negativity, reach, verified, VIP and waiting time, less spam."""
    followers = max(0, context.followers or 0)
    reach = min(1.0, math.log10(1 + followers) / math.log10(1 + REACH_FULL_AT))
    waited = 0.0
    if context.target_minutes > 0:
        waited = min(1.0, max(0.0, context.waited_minutes / context.target_minutes))
    factors = [
        PriorityFactor(
            "needs_response",
            weights.needs_response * signals.needs_response_p,
            f"p={signals.needs_response_p:.2f}",
        ),
        PriorityFactor(
            "negativity", weights.negativity * signals.negativity, f"p={signals.negativity:.2f}"
        ),
        PriorityFactor("reach", weights.reach * reach, f"{followers:,} followers"),
        PriorityFactor(
            "verified",
            weights.verified if context.verified else 0.0,
            "verified account" if context.verified else "not verified",
        ),
        PriorityFactor(
            "vip", weights.vip if context.vip else 0.0, "VIP customer" if context.vip else "-"
        ),
        PriorityFactor(
            "waiting",
            weights.waiting * waited,
            f"{context.waited_minutes:.0f} of {context.target_minutes:.0f} min",
        ),
    ]
    positive = sum(f.points for f in factors)
    spam = PriorityFactor(
        "spam", -min(positive, weights.spam * signals.spam_p), f"p={signals.spam_p:.2f}"
    )
    factors.append(spam)
    score = round(min(100.0, max(0.0, positive + spam.points)))
    return Priority(
        score, tuple(PriorityFactor(f.name, round(f.points, 1), f.detail) for f in factors)
    )


def score_priority_from_basis(
    basis: dict[str, Any], waited_minutes: float, target_minutes: float, weights: PriorityWeights
) -> Priority:
    """The same policy from the compact basis a conversation keeps between messages."""
    signals = TextSignals(
        sentiment="neutral",
        sentiment_p={"negative": float(basis.get("negativity", 0.0))},
        needs_response=False,
        needs_response_p=float(basis.get("needs_response_p", 0.0)),
        intent="other",
        intent_p=0.0,
        intent_model="",
        language="und",
        language_p=0.0,
        pii=(),
        spam_p=float(basis.get("spam_p", 0.0)),
        question=False,
        model_version="",
    )
    context = PriorityContext(
        followers=basis.get("followers"),
        verified=bool(basis.get("verified")),
        vip=bool(basis.get("vip")),
        waited_minutes=max(0.0, waited_minutes),
        target_minutes=target_minutes,
    )
    return score_priority(signals, context, weights)


def signals_to_json(signals: TextSignals) -> dict[str, Any]:
    data = asdict(signals)
    data["pii"] = [asdict(p) for p in signals.pii]
    return data


def signals_from_json(data: dict[str, Any]) -> TextSignals:
    values = dict(data)
    values["pii"] = tuple(PiiFinding(**p) for p in values.get("pii", []))
    known = {f.name for f in fields(TextSignals)}
    return TextSignals(**{k: v for k, v in values.items() if k in known})


def priority_to_json(priority: Priority) -> dict[str, Any]:
    return {"score": priority.score, "factors": [asdict(f) for f in priority.factors]}
