"""The built-in customer-care intent taxonomy, recognised by keyword patterns with reasons.

Rules, not a trained model: there is no labelled data for this taxonomy here, and an agent can
read why a post got its intent ("matched 'refund', 'money back'"). An organisation that needs
more trains its own intents (`socialdesk triage train-intents`), which then replace these.
"""

from __future__ import annotations

import re

RULES: dict[str, list[str]] = {
    "order_status": [
        r"where(?:'s| is) my (?:order|package|parcel|delivery|stuff)",
        r"order status",
        r"haven'?t (?:received|got(?:ten)?) my order",
        r"order (?:#|number|no\.?)",
        r"still (?:waiting|no sign)",
        r"\btrack(?:ing)?\b",
        r"\border(?:ed)?\b",
    ],
    "delivery": [
        r"\bdeliver(?:y|ed|ing)?\b",
        r"\bcourier\b",
        r"\bparcel\b",
        r"\bpackage\b",
        r"\bshipping\b",
        r"\bshipped\b",
        r"\bdispatch(?:ed)?\b",
        r"\barriv(?:e|ed|al)\b",
        r"\bdriver\b",
        r"\bpostman\b",
        r"\bup?s\b|\bfedex\b|\bdhl\b",
    ],
    "refund_return": [
        r"\brefund(?:ed|s)?\b",
        r"money back",
        r"\breturn(?:ed|ing|s)?\b",
        r"\bexchange\b",
        r"\bcancel(?:led|lation)?\b",
        r"\bcompensat",
        r"\bchargeback\b",
    ],
    "billing": [
        r"\bbill(?:ed|ing)?\b",
        r"\bcharg(?:e|ed|es|ing)\b",
        r"\binvoice\b",
        r"\bpayment\b",
        r"\bsubscription\b",
        r"\bfee\b",
        r"\bprice\b",
        r"\boverchar",
        r"\bdouble charged\b",
        r"\bcredit card\b",
        r"\bdebited\b",
    ],
    "account_access": [
        r"\blog ?in\b",
        r"\blog(?:ged)? out\b",
        r"\bsign ?in\b",
        r"\bpassword\b",
        r"\blocked out\b",
        r"\baccount (?:locked|suspended|hacked|disabled)\b",
        r"\b2fa\b",
        r"\bverification code\b",
        r"\breset link\b",
        r"\bhacked\b",
    ],
    "technical_problem": [
        r"\bnot working\b",
        r"\bdoesn'?t work\b",
        r"\bbroken\b",
        r"\bcrash(?:es|ed|ing)?\b",
        r"\berror\b",
        r"\bbug\b",
        r"\boutage\b",
        r"\b(?:no|lost) (?:signal|service|internet|wifi)\b",
        r"\bdown\b",
        r"\bfreez(?:e|es|ing)\b",
        r"\bglitch\b",
        r"\bwon'?t (?:load|open|connect)\b",
        r"\bupdate\b",
        r"\bapp\b",
    ],
    "product_question": [
        r"\bdo(?:es)? (?:you|it|the)\b.*\?",
        r"\bcan i\b",
        r"\bis (?:there|it) (?:a|any)\b",
        r"\bhow (?:do|can|much|long)\b",
        r"\bwhen (?:will|is|are)\b",
        r"\bavailable\b",
        r"\bin stock\b",
        r"\bwhich\b.*\?",
        r"\bsize\b",
        r"\bcompatible\b",
    ],
    "complaint_about_staff": [
        r"\brude\b",
        r"\bunprofessional\b",
        r"\b(?:your|the) (?:staff|agent|employee|cashier|"
        r"manager|driver|rep(?:resentative)?)\b.*\b(?:rude|ignored|shouted|yelled|awful|terrible|"
        r"useless|horrible)",
        r"\bcustomer service (?:is|was) (?:awful|terrible|the worst|useless)",
        r"\bworst customer service\b",
        r"\bhung up on me\b",
    ],
    "praise": [
        r"\bthank(?:s| you)\b",
        r"\bgreat (?:service|job|support)\b",
        r"\bamazing\b",
        r"\bawesome\b",
        r"\blove (?:you|it|this)\b",
        r"\bshout ?out\b",
        r"\bimpressed\b",
        r"\bbest\b",
        r"\bkudos\b",
        r"\bappreciate\b",
    ],
}
# One alternation per intent: a single scan of the text finds every pattern of that intent. The
# patterns are lower case and read lowered text: IGNORECASE made the scans half again as slow.
_COMPILED = {intent: re.compile("|".join(f"(?:{p})" for p in ps)) for intent, ps in RULES.items()}
# More specific intents win ties against broader ones.
ORDER = [
    "complaint_about_staff",
    "account_access",
    "refund_return",
    "billing",
    "order_status",
    "delivery",
    "technical_problem",
    "product_question",
    "praise",
]


def builtin_intent(text: str, *, positive: float, needs_response: float) -> tuple[str, float, str]:
    """(intent, confidence, reason). Praise needs a positive, non-complaining post."""
    sample = text[:5000].lower()
    scores: dict[str, list[str]] = {}
    for intent in ORDER:
        hits = [m.group(0) for m in _COMPILED[intent].finditer(sample)]
        if hits:
            scores[intent] = hits
    if "praise" in scores and (positive < 0.5 or needs_response > 0.5):
        del scores["praise"]
    if not scores:
        if positive >= 0.6 and needs_response < 0.3:
            return "praise", round(positive, 3), "positive post with no request"
        return "other", 0.3, "no built-in intent matched"
    best = max(ORDER, key=lambda i: (len(scores.get(i, [])), -ORDER.index(i)))
    hits = scores[best]
    confidence = round(min(0.95, 0.5 + 0.15 * len(hits)), 3)
    quoted = ", ".join(f"'{h}'" for h in dict.fromkeys(hits))
    return best, confidence, f"matched {quoted}"


QUESTION_START = re.compile(
    r"(?i)^(?:@\w+\s+)*(?:how|what|when|where|why|who|which|can|could|is|are|do|does|did|will|"
    r"would|should|anyone|any idea)\b"
)


def is_question(text: str) -> bool:
    return "?" in text[:5000] or bool(QUESTION_START.match(text.strip()))
