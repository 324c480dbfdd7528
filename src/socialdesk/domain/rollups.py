"""Rollups of the reporting facts per UTC hour and per UTC day, one dimension at a time and split
by platform, so a dashboard over a month reads a few hundred rows instead of every message of it.

Each conversation's facts contribute to rows keyed by (UTC hour, dimension, value, platform):
the dimension `all` (value ""), and one row for each of channel, team, agent, intent and each
tag, all carrying the conversation's platform. So a dashboard filtered by one dimension, by
platform, or by both reads one scope of rows, and its split by platform (the platform shares,
the breakdown by platform) is a GROUP BY of the same rows; with more filters it falls back to the
facts (queries/analytics.py). The whole desk also has one unsplit row per hour (`total`), so
its histograms, the most read and the fullest, are merged from one row an hour rather than one
per platform. Every row also exists per UTC day (summed from the hour rows a pass writes:
`with_days`), so a month is read as its whole days plus the hours at its ends (about 78 rows a
scope instead of 720): at a million conversations an hour's duration histograms hold dozens of
buckets, and merging 720 of them was most of a dashboard's time. When a conversation's facts are
computed again, the old contributions are subtracted and the new ones added, so the rollups
always equal the facts.

Durations (first and next response, resolution; calendar and business time) go into histograms
with buckets 5% wide (`bucket_of`; a bucket's middle is within 2.5% of every value in it), from
which percentiles over many responses are read (docs/metrics.md says when).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from socialdesk.domain.reporting import INBOUND, OUTBOUND, ConversationFact, MessageFact

ALL = "all"
HOUR, DAY = "h", "d"  # the spans of rollup rows
TOTAL = "total"  # the whole desk, every platform in one row
RATIO = 1.05  # consecutive histogram bucket edges
# The counters of a rollup row (histograms apart).
MEASURES = (
    "inbound",
    "outbound",
    "auto_acks",
    "negative",
    "positive_engaged",
    "needing",
    "responded",
    "suppressed",
    "first_responses",
    "first_met",
    "first_judged",
    "next_responses",
    "next_met",
    "next_judged",
    "opened",
    "closed",
    "engaged",
    "before_negative",
    "before_neutral",
    "before_positive",
    "after_negative",
    "after_neutral",
    "after_positive",
    "turned",
    "turn_base",
)
HISTOGRAMS = ("first", "first_b", "next", "next_b", "resolution", "resolution_b")


@dataclass(frozen=True, slots=True)
class Cuts:
    """What a conversation is reported by (its agent is per fact: see `agent_of`)."""

    platform: str
    channel_id: int
    team_id: int | None
    assignee_id: int | None
    intent: str | None
    suppressed: bool
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RowKey:
    hour: datetime  # the start of the hour, or of the UTC day
    dimension: str
    value: str
    platform: str
    span: str = HOUR

    @property
    def text(self) -> str:
        """One string per row, for the unique index the writes add to."""
        return f"{self.hour:%Y-%m-%dT%H}|{self.span}|{self.dimension}|{self.platform}|{self.value}"


Contributions = dict[RowKey, Counter[str]]


def bucket_of(seconds: int) -> int:
    """The histogram bucket of a duration: 0 for under a second, else 1 + ⌊log₁.₀₅ s⌋."""
    return 0 if seconds < 1 else 1 + math.floor(math.log(seconds) / math.log(RATIO) + 1e-9)


def bucket_value(bucket: int) -> float:
    """A bucket's representative duration (the geometric middle of its edges)."""
    if bucket == 0:
        return 0.0
    return float(RATIO ** (bucket - 1) * math.sqrt(RATIO))


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _keys(hour: datetime, cuts: Cuts, agent_id: int | None) -> list[RowKey]:
    values = {
        "channel": str(cuts.channel_id),
        "team": "" if cuts.team_id is None else str(cuts.team_id),
        "agent": "" if agent_id is None else str(agent_id),
        "intent": cuts.intent or "",
    }
    platform = cuts.platform
    keys = [RowKey(hour, TOTAL, "", ""), RowKey(hour, ALL, "", platform)]
    keys += [RowKey(hour, name, value, platform) for name, value in values.items()]
    keys += [RowKey(hour, "tag", tag, platform) for tag in cuts.tags]
    return keys


def add_counts(found: Contributions, keys: Iterable[RowKey], counts: Mapping[str, int]) -> None:
    """Add `counts` to each of the rows (a loop, not Counter.update: rebuilding a large desk
    adds millions of times)."""
    for key in keys:
        row = found.get(key)
        if row is None:
            found[key] = Counter(counts)
        else:
            for name, n in counts.items():
                row[name] += n


def contributions(
    cuts: Cuts, facts: Iterable[MessageFact], whole: ConversationFact
) -> Contributions:
    """What one conversation adds to the rollups."""
    found: Contributions = {}
    known: dict[tuple[datetime, int | None], list[RowKey]] = {}

    def keys_of(at: datetime, agent: int | None) -> list[RowKey]:
        hour = hour_of(at)
        keys = known.get((hour, agent))
        if keys is None:
            keys = known[(hour, agent)] = _keys(hour, cuts, agent)
        return keys

    for fact in facts:
        agent = cuts.assignee_id if fact.direction == INBOUND else fact.agent_id
        add_counts(found, keys_of(fact.at, agent), _message_counts(fact, cuts.suppressed))

    def conversation_keys(at: datetime) -> list[RowKey]:
        return keys_of(at, cuts.assignee_id)

    add_counts(found, conversation_keys(whole.opened_at), {"opened": 1})
    if whole.closed_at is not None:
        closing: Counter[str] = Counter(closed=1)
        closing[f"resolution:{bucket_of(whole.resolution_seconds or 0)}"] += 1
        closing[f"resolution_b:{bucket_of(whole.resolution_business_seconds or 0)}"] += 1
        add_counts(found, conversation_keys(whole.closed_at), closing)
    if whole.engaged_at is not None:
        add_counts(found, conversation_keys(whole.engaged_at), _engagement_counts(whole))
    return found


def _message_counts(fact: MessageFact, suppressed: bool) -> Counter[str]:
    counts: Counter[str] = Counter()
    if fact.direction == INBOUND:
        counts["inbound"] += 1
        counts["negative"] += fact.sentiment == "negative"
        counts["positive_engaged"] += fact.engaged and fact.sentiment == "positive"
        if fact.needs_response:
            counts["suppressed" if suppressed else "needing"] += 1
            counts["responded"] += not suppressed and fact.responded_at is not None
    elif fact.direction == OUTBOUND:
        counts["auto_acks" if fact.auto_ack else "outbound"] += 1
        kind = fact.response_kind
        if kind is not None:
            counts[f"{kind}_responses"] += 1
            counts[f"{kind}:{bucket_of(fact.response_seconds or 0)}"] += 1
            counts[f"{kind}_b:{bucket_of(fact.response_business_seconds or 0)}"] += 1
            if fact.sla_met is not None:
                counts[f"{kind}_judged"] += 1
                counts[f"{kind}_met"] += fact.sla_met
    return +counts


def _engagement_counts(whole: ConversationFact) -> Counter[str]:
    counts: Counter[str] = Counter(engaged=1)
    if whole.sentiment_before:
        counts[f"before_{whole.sentiment_before}"] += 1
    if whole.sentiment_after:
        counts[f"after_{whole.sentiment_after}"] += 1
    if whole.sentiment_before == "negative" and whole.sentiment_after:
        counts["turn_base"] += 1
        counts["turned"] += whole.sentiment_after in ("neutral", "positive")
    return counts


def with_days(delta: Contributions) -> Contributions:
    """The hour rows' changes and, summed from them, their UTC days' (what is written: the day
    rows are derived from a whole pass's hours, not counted fact by fact)."""
    days: Contributions = {}
    for key, counts in delta.items():
        day = RowKey(key.hour.replace(hour=0), key.dimension, key.value, key.platform, DAY)
        add_counts(days, (day,), counts)
    return {**delta, **{key: counts for key, counts in days.items() if +counts or -counts}}


def difference(new: Contributions, old: Contributions) -> Contributions:
    """What to add to the rollups to go from the old contributions to the new ones."""
    delta: Contributions = {}
    for key in new.keys() | old.keys():
        change = Counter(new.get(key, Counter()))
        change.subtract(old.get(key, Counter()))
        change = Counter({k: v for k, v in change.items() if v})
        if change:
            delta[key] = change
    return delta
