"""Text as the triage models saw it in training: handles as @user, links as http, one space.

The training tweets (TweetEval) had mentions replaced by @user and links removed; doing the same
at prediction time keeps a brand's own handle or a URL from swaying sentiment. A lone surrogate
(a broken `\\ud800` escape; intake refuses them, but the classifier takes any text) becomes U+FFFD:
the tokenizer cannot take it.
"""

from __future__ import annotations

import re

MENTION = re.compile(r"@\w{1,50}")
URL = re.compile(r"https?://\S+|www\.\S+")
SPACE = re.compile(r"\s+")
SURROGATE = re.compile("[\ud800-\udfff]")


def normalise_for_model(text: str) -> str:
    readable = SURROGATE.sub("\ufffd", text)
    return SPACE.sub(" ", URL.sub("http", MENTION.sub("@user", readable))).strip()
