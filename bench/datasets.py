"""Seeded synthetic traffic for benchmarks: normalised messages and TWCS-format CSV files.

Threads look like care traffic: a customer post, brand replies, customer follow-ups answering
them, some DMs per customer, and a share of redeliveries, so intake does real dedupe and threading.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
TWCS_TIME = "%a %b %d %H:%M:%S +0000 %Y"
PHRASES = [
    "my order still hasn't arrived",
    "charged twice this month",
    "app keeps crashing on login",
    "no signal since this morning",
    "refund please, item was broken",
    "thanks for the quick help",
    "where is my parcel",
    "cancel my subscription",
    "wrong size delivered",
    "great service!",
]


def messages(channel_id: int, count: int, seed: int = 1) -> list[dict[str, Any]]:
    """`count` API message bodies: ~45% new posts, ~30% replies in threads, ~15% DMs, ~10% repeats."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    posts: list[str] = []
    customers = max(10, count // 4)
    for i in range(count):
        at = (T0 + timedelta(seconds=i * 3)).isoformat()
        roll = rng.random()
        author = f"u{rng.randrange(customers)}"
        body: dict[str, Any] = {
            "channel_id": channel_id,
            "external_id": f"m{seed}-{i}",
            "text": f"@brand {rng.choice(PHRASES)} #{i}",
            "created_at": at,
            "author": {
                "external_id": author,
                "handle": f"@{author}",
                "followers": rng.randrange(20000),
            },
        }
        if roll < 0.10 and out:
            out.append(dict(rng.choice(out)))
            continue
        if roll < 0.25:
            body["kind"] = "dm"
        elif roll < 0.55 and posts:
            body["in_reply_to"] = rng.choice(posts[-200:])
        posts.append(body["external_id"])
        out.append(body)
    return out


def write_twcs(path: Path, threads: int, seed: int = 2) -> int:
    """A TWCS file of `threads` conversations (rows shuffled, as in the real file); returns rows."""
    rng = random.Random(seed)
    brands = ["AcmeHelp", "NorthwindCare", "ContosoSupport"]
    rows: list[list[str]] = []
    next_id = 1
    for n in range(threads):
        brand = rng.choice(brands)
        customer = str(100000 + rng.randrange(threads))
        at = T0 + timedelta(minutes=n)
        parent = ""
        for turn in range(rng.choice([1, 2, 3, 4, 5])):
            inbound = turn % 2 == 0
            author = customer if inbound else brand
            text = f"@{brand} {rng.choice(PHRASES)}" if inbound else f"@{customer} Sorry! DM us."
            rows.append(
                [str(next_id), author, str(inbound), at.strftime(TWCS_TIME), text, "", parent]
            )
            parent = str(next_id)
            next_id += 1
            at += timedelta(minutes=rng.randint(1, 90))
    rng.shuffle(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "tweet_id",
                "author_id",
                "inbound",
                "created_at",
                "text",
                "response_tweet_id",
                "in_response_to_tweet_id",
            ]
        )
        writer.writerows(rows)
    return len(rows)
