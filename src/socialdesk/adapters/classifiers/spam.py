"""Spam and bot likelihood from what a post looks like. A heuristic, not a trained model.

There is no labelled spam data for customer care in this project, so the score is a logistic
function of features that spam and bot posts share (links, promotion words, hashtag and mention
stuffing, shouting, repeated characters, crypto and giveaway bait), with weights set by hand and
documented here. It lowers priority; it never hides a message on its own.
"""

from __future__ import annotations

import math
import re

URL = re.compile(r"https?://\S+|www\.\S+")
HASHTAG = re.compile(r"#\w+")
MENTION = re.compile(r"@\w+")
REPEAT = re.compile(r"(.)\1{4,}")
PROMO = re.compile(
    r"(?i)\b(?:free|giveaway|win|winner|prize|promo|discount|coupon|% ?off|click|subscribe|"
    r"follow (?:back|me)|dm (?:me|for)|earn|profit|crypto|bitcoin|btc|forex|invest(?:ment)?|"
    r"airdrop|nft|casino|bet|loan|onlyfans|cheap|limited offer|act now)\b"
)

WEIGHTS = {
    "links": 1.2,
    "promo": 1.1,
    "hashtags": 0.5,
    "mentions": 0.35,
    "shouting": 1.5,
    "repeats": 0.8,
}
BIAS = -4.0


def spam_probability(text: str) -> float:
    sample = text[:5000]
    letters = "".join(filter(str.isalpha, sample))
    upper = sum(map(str.isupper, letters)) / len(letters) if len(letters) >= 12 else 0.0
    features = {
        "links": min(3, len(URL.findall(sample))),
        "promo": min(4, len(PROMO.findall(sample))),
        "hashtags": max(0, min(8, len(HASHTAG.findall(sample))) - 2),
        "mentions": max(0, min(8, len(MENTION.findall(sample))) - 2),
        "shouting": 1.0 if upper > 0.7 else 0.0,
        "repeats": min(3, len(REPEAT.findall(sample))),
    }
    z = BIAS + sum(WEIGHTS[k] * v for k, v in features.items())
    return round(1 / (1 + math.exp(-z)), 4)
