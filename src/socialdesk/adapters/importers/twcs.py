"""Reader for the Kaggle "Customer Support on Twitter" CSV (twcs.csv).

Columns: tweet_id, author_id, inbound, created_at, text, response_tweet_id, in_response_to_tweet_id.
Customers' author ids are anonymised numbers, brands' are their handles. Threads are trees built
from in_response_to_tweet_id; rows are not in time order and referenced tweets can be missing.

The reader threads the whole file before anything is stored: each tweet's thread root is its
earliest ancestor present in the file, the thread's brand is the first brand that answers in it (or
the brand handle the root mentions), and tweets come out sorted by time so that every reply meets
its parent already stored.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from socialdesk.domain.messages import Author, Direction, MessageKind, NormalisedMessage
from socialdesk.domain.text import text_problem

REQUIRED = ("tweet_id", "author_id", "inbound", "created_at", "text", "in_response_to_tweet_id")
TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"
MENTION = re.compile(r"@(\w{1,50})")
MAX_ID_DIGITS = 30  # tweet ids have 19 digits; the external_id column holds 255 characters
MAX_AUTHOR = 200  # the identity handle column


class TwcsFormatError(Exception):
    """The file is not a TWCS CSV at all (missing columns); nothing is imported."""


@dataclass(frozen=True, slots=True)
class Tweet:
    tweet_id: str
    author_id: str
    inbound: bool
    created_at: datetime
    text: str
    parent_id: str | None


@dataclass(slots=True)
class TwcsPlan:
    """What the file holds, threaded: tweets in time order with the brand each belongs to."""

    tweets: list[tuple[str, Tweet]] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def messages(self, channel_ids: dict[str, int]) -> Iterator[NormalisedMessage]:
        for brand, tweet in self.tweets:
            yield to_message(tweet, channel_ids[brand])


def channel_name(brand: str) -> str:
    return f"@{brand}"


def to_message(tweet: Tweet, channel_id: int) -> NormalisedMessage:
    return NormalisedMessage(
        channel_id=channel_id,
        external_id=tweet.tweet_id,
        text=tweet.text,
        created_at=tweet.created_at,
        direction=Direction.INBOUND if tweet.inbound else Direction.OUTBOUND,
        kind=MessageKind.POST,
        author=Author(external_id=tweet.author_id, handle=tweet.author_id)
        if tweet.inbound
        else None,
        in_reply_to=tweet.parent_id,
        raw={
            "tweet_id": tweet.tweet_id,
            "author_id": tweet.author_id,
            "inbound": tweet.inbound,
            "created_at": tweet.created_at.strftime(TIME_FORMAT),
            "in_response_to_tweet_id": tweet.parent_id,
        },
    )


def read_twcs(path: Path, on_bytes: Callable[[int], None] | None = None) -> TwcsPlan:
    """Read and thread a TWCS file; rows that cannot be used are counted by reason."""
    plan = TwcsPlan()
    tweets: dict[str, Tweet] = {}
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open("r", encoding="utf-8", newline="", errors="strict") as handle:
        reader = csv.DictReader(_counting(handle, on_bytes))
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise TwcsFormatError(
                f"{path} is not a TWCS file: missing column(s) {', '.join(missing)}; "
                f"expected {', '.join(REQUIRED)}"
            )
        for row in reader:
            plan.rows += 1
            tweet, reason = _parse(row)
            if tweet is None:
                plan.skipped[reason] += 1
            elif tweet.tweet_id in tweets:
                plan.skipped["tweet_id appears twice in the file"] += 1
            else:
                tweets[tweet.tweet_id] = tweet
    _thread(tweets, plan)
    return plan


def _counting(handle: IO[str], on_bytes: Callable[[int], None] | None) -> Iterator[str]:
    for line in handle:
        if on_bytes is not None:
            on_bytes(len(line))
        yield line


def _parse(row: dict[str | None, str | list[str] | None]) -> tuple[Tweet | None, str]:
    if None in row or any(row.get(c) is None for c in REQUIRED):
        return None, "row has the wrong number of fields"
    tweet_id = str(row["tweet_id"]).strip()
    author_id = str(row["author_id"]).strip()
    parent = str(row["in_response_to_tweet_id"] or "").strip()
    if parent.endswith(".0"):  # written by tools that read the id column as floats
        parent = parent[:-2]
    if tweet_id.endswith(".0"):
        tweet_id = tweet_id[:-2]
    if not _is_id(tweet_id):
        return None, "tweet_id is not a number"
    if not author_id:
        return None, "author_id is empty"
    if len(author_id) > MAX_AUTHOR or text_problem(author_id) is not None:
        return None, "author_id is too long or not valid Unicode"
    if parent and not _is_id(parent):
        return None, "in_response_to_tweet_id is not a number"
    inbound = str(row["inbound"]).strip().lower()
    if inbound not in ("true", "false"):
        return None, "inbound is neither True nor False"
    try:
        # TIME_FORMAT ends in %z %Y, so the result carries the file's offset (always +0000).
        created_at = datetime.strptime(str(row["created_at"]).strip(), TIME_FORMAT)  # noqa: DTZ007
    except ValueError:
        return None, "created_at is not like 'Tue Oct 31 22:10:47 +0000 2017'"
    text = str(row["text"])
    if text_problem(text) is not None:
        return None, "text is too long or not valid Unicode"
    return Tweet(tweet_id, author_id, inbound == "true", created_at, text, parent or None), ""


def _is_id(value: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes `²` and `٣`, which `int()` (used to order the
    tweets) refuses or reads as another number."""
    return value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS


def _thread(tweets: dict[str, Tweet], plan: TwcsPlan) -> None:
    roots: dict[str, str] = {}

    def root_of(tweet_id: str) -> str:
        path = []
        current = tweet_id
        while current not in roots:
            path.append(current)
            parent = tweets[current].parent_id
            if parent is None or parent not in tweets or parent in path:
                roots[current] = current
                break
            current = parent
        root = roots[current]
        for node in path:
            roots[node] = root
        return root

    ordered = sorted(tweets.values(), key=lambda tw: (tw.created_at, int(tw.tweet_id)))
    brand_of_root: dict[str, str] = {}
    brands: set[str] = set()
    for tweet in ordered:
        if not tweet.inbound:
            brands.add(tweet.author_id)
            brand_of_root.setdefault(root_of(tweet.tweet_id), tweet.author_id)
    by_lower = {b.lower(): b for b in brands}
    kept: set[str] = set()
    for tweet in ordered:
        root = root_of(tweet.tweet_id)
        brand = brand_of_root.get(root) or _mentioned_brand(tweets[root].text, by_lower)
        if brand is None:
            plan.skipped["no brand answers or is mentioned in its thread"] += 1
            continue
        brand_of_root[root] = brand
        if not tweet.inbound:
            if tweet.author_id != brand:
                plan.skipped["brand reply inside another brand's thread"] += 1
                continue
            if tweet.parent_id is None:
                plan.skipped["brand tweet that answers no customer"] += 1
                continue
            if tweet.parent_id not in kept:
                plan.skipped["brand reply to a tweet not in the file"] += 1
                continue
        kept.add(tweet.tweet_id)
        plan.tweets.append((brand, tweet))
    plan.brands = sorted({brand for brand, _ in plan.tweets})


def _mentioned_brand(text: str, brands_by_lower: dict[str, str]) -> str | None:
    for handle in MENTION.findall(text):
        brand = brands_by_lower.get(handle.lower())
        if brand is not None:
            return brand
    return None
