"""Text as the triage models saw it in training: handles as @user, links as http, one space.

The training tweets (TweetEval) had mentions replaced by @user and links removed; doing the same
at prediction time keeps a brand's own handle or a URL from swaying sentiment.
"""

from __future__ import annotations

import re

MENTION = re.compile(r"@\w{1,50}")
URL = re.compile(r"https?://\S+|www\.\S+")
SPACE = re.compile(r"\s+")


def normalise_for_model(text: str) -> str:
    return SPACE.sub(" ", URL.sub("http", MENTION.sub("@user", text))).strip()
