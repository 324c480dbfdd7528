"""Analytics: the metrics of docs/metrics.md over a range and a cut, from the reporting facts.

Each metric is one aggregate statement over an indexed range of `report_messages`,
`report_conversations`, `surveys` or `reviews` (led by the fact's time); percentiles read the
one column they need, sorted in Python. Time series are grouped by UTC hour in SQL and folded into
the desk's local days (or hours) here, so day boundaries follow the time zone on both engines.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import Column, ColumnElement, and_, exists, func, select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.sql import count_if, hour_number, hour_start
from socialdesk.domain.calendars import zone
from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.rollups import ALL
from socialdesk.queries.rollups import (
    WHOLE_DESK,
    Scope,
    histogram,
    histograms,
    percentiles,
    scope_of,
    summed,
    sums,
)
from socialdesk.queries.rollups import hourly as rollup_hours

MAX_DAYS = 400
# Durations are read exactly from the facts when the cut holds at most EXACT_LIMIT of them and
# the whole desk at most SCAN_LIMIT in the range (the facts are found by time, then filtered, so
# the whole desk's count is what reading them costs); else from the rollups' histograms.
EXACT_LIMIT = 5_000
SCAN_LIMIT = 20_000
DURATION_COUNTS = {"first": "first_responses", "next": "next_responses", "resolution": "closed"}
SENTIMENTS = ("negative", "neutral", "positive")
SOCIAL = ("x", "facebook", "instagram")
rm = t.report_messages.c
rc = t.report_conversations.c
sv = t.surveys.c
rv = t.reviews.c


class Dimension(StrEnum):
    PLATFORM = "platform"
    CHANNEL = "channel"
    TEAM = "team"
    AGENT = "agent"
    INTENT = "intent"
    TAG = "tag"


@dataclass(frozen=True, slots=True)
class Cut:
    """The range `[start, end)` and the filters every metric of a page shares."""

    start: datetime
    end: datetime
    tz: str = "UTC"
    business: bool = False
    platform: str | None = None
    channel_id: int | None = None
    team_id: int | None = None
    agent_id: int | None = None
    intent: str | None = None
    tag: str | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidInput("from and to must carry a time zone", field="from")
        if self.end <= self.start:
            raise InvalidInput("'to' must be after 'from'", field="to")
        if self.end - self.start > timedelta(days=MAX_DAYS):
            raise InvalidInput(f"a range may span at most {MAX_DAYS} days", field="to")
        zone(self.tz, "tz")


@dataclass(frozen=True, slots=True)
class Durations:
    count: int
    median_seconds: float | None
    p90_seconds: int | None


@dataclass(frozen=True, slots=True)
class Attainment:
    met: int
    total: int

    @property
    def share(self) -> float | None:
        return round(self.met / self.total, 4) if self.total else None


@dataclass(frozen=True, slots=True)
class Overview:
    inbound: int
    outbound: int
    auto_acks: int
    negative_share: float | None
    by_platform: dict[str, int]
    social_share: float | None
    needing_response: int
    responded: int
    suppressed: int
    first_response: Durations
    next_response: Durations
    resolution: Durations
    first_sla: Attainment
    next_sla: Attainment
    sentiment_before: dict[str, int]
    sentiment_after: dict[str, int]
    turned_around: Attainment
    positive_after_engagement: int
    csat: Attainment
    csat_mean: float | None
    nps: float | None
    nps_answers: int
    surveys_asked: int
    surveys_answered: int
    reviews: int
    qa_score: float | None

    @property
    def response_rate(self) -> float | None:
        return round(self.responded / self.needing_response, 4) if self.needing_response else None


@dataclass(frozen=True, slots=True)
class Point:
    start: datetime
    inbound: int = 0
    outbound: int = 0
    negative: int = 0
    backlog: int = 0


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    key: str
    inbound: int
    outbound: int
    needing_response: int
    responded: int
    first_response: Durations
    first_sla: Attainment
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def response_rate(self) -> float | None:
        return round(self.responded / self.needing_response, 4) if self.needing_response else None


# -- percentiles, as docs/metrics.md defines them -----------------------------------------------


def durations(values: Sequence[int]) -> Durations:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return Durations(0, None, None)
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Durations(n, float(median), ordered[max(0, math.ceil(0.9 * n) - 1)])


# -- the cut as conditions -----------------------------------------------------------------------


def _tagged(column: Column[int], tag: str) -> ColumnElement[bool]:
    # An alias: a breakdown by tag selects from conversation_tags itself.
    ct = t.conversation_tags.alias("filter_tags").c
    return exists().where(ct.conversation_id == column, ct.tag == tag.strip().lower())


def _reported(column: Column[int], *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """The conversation in `column` is reported with these dimensions: looked up row by row (a
    survey or review in the range), never the list of every conversation that has them."""
    return exists().where(rc.conversation_id == column, *conditions)


def _message_cut(cut: Cut) -> list[ColumnElement[bool]]:
    where = [rm.at >= cut.start, rm.at < cut.end]
    where += _dimensions(cut, rm.platform, rm.channel_id, rm.team_id, rm.agent_id, rm.intent)
    if cut.tag:
        where.append(_tagged(rm.conversation_id, cut.tag))
    return where


def _conversation_cut(cut: Cut, column: Any) -> list[ColumnElement[bool]]:
    where = [column >= cut.start, column < cut.end]
    where += _dimensions(cut, rc.platform, rc.channel_id, rc.team_id, rc.agent_id, rc.intent)
    if cut.tag:
        where.append(_tagged(rc.conversation_id, cut.tag))
    return where


def _dimensions(cut: Cut, *columns: Any) -> list[ColumnElement[bool]]:
    platform, channel, team, agent, intent = columns
    where = []
    for column, value in (
        (platform, cut.platform),
        (channel, cut.channel_id),
        (team, cut.team_id),
        (agent, cut.agent_id),
        (intent, cut.intent),
    ):
        if value is not None and column is not None:
            where.append(column == value)
    return where


def _survey_cut(cut: Cut, time: Any) -> list[ColumnElement[bool]]:
    where = [time >= cut.start, time < cut.end]
    where += _dimensions(cut, sv.platform, sv.channel_id, sv.team_id, sv.agent_id, None)
    if cut.intent is not None:
        where.append(_reported(sv.conversation_id, rc.intent == cut.intent))
    if cut.tag:
        where.append(_tagged(sv.conversation_id, cut.tag))
    return where


def _review_cut(cut: Cut) -> list[ColumnElement[bool]]:
    where = [rv.created_at >= cut.start, rv.created_at < cut.end]
    if cut.agent_id is not None:
        where.append(rv.agent_id == cut.agent_id)
    by_conversation = _dimensions(cut, rc.platform, rc.channel_id, rc.team_id, None, rc.intent)
    if by_conversation:
        where.append(_reported(rv.conversation_id, *by_conversation))
    if cut.tag:
        where.append(_tagged(rv.conversation_id, cut.tag))
    return where


# -- the overview --------------------------------------------------------------------------------


def _scope(cut: Cut) -> Scope | None:
    return scope_of(
        cut.start,
        cut.end,
        {
            "channel": cut.channel_id,
            "team": cut.team_id,
            "agent": cut.agent_id,
            "intent": cut.intent,
            "tag": cut.tag,
        },
        cut.platform,
    )


def _fact_totals(conn: Connection, cut: Cut) -> Counter[str]:
    """The counters of the rollups, summed from the facts (cuts the rollups cannot serve)."""
    inbound = rm.direction == "inbound"
    needing = and_(inbound, rm.needs_response.is_(True))
    names = (
        *("inbound", "outbound", "auto_acks", "negative", "needing", "responded"),
        *("suppressed", "positive_engaged", "first_met", "first_judged", "next_met"),
        *("next_judged", "first_responses", "next_responses"),
    )
    row = conn.execute(
        select(
            count_if(inbound),
            count_if(and_(rm.direction == "outbound", rm.auto_ack.is_(False))),
            count_if(rm.auto_ack.is_(True)),
            count_if(and_(inbound, rm.sentiment == "negative")),
            count_if(and_(needing, rm.suppressed.is_(False))),
            count_if(and_(needing, rm.suppressed.is_(False), rm.responded_at.is_not(None))),
            count_if(and_(needing, rm.suppressed.is_(True))),
            count_if(and_(inbound, rm.engaged.is_(True), rm.sentiment == "positive")),
            count_if(and_(rm.response_kind == "first", rm.sla_met.is_(True))),
            count_if(and_(rm.response_kind == "first", rm.sla_met.is_not(None))),
            count_if(and_(rm.response_kind == "next", rm.sla_met.is_(True))),
            count_if(and_(rm.response_kind == "next", rm.sla_met.is_not(None))),
            count_if(rm.response_kind == "first"),
            count_if(rm.response_kind == "next"),
        ).where(*_message_cut(cut))
    ).one()
    counts = Counter({name: int(value) for name, value in zip(names, row, strict=True)})
    counts.update(_sentiment_counts(conn, cut))
    return counts


def overview(conn: Connection, cut: Cut) -> Overview:
    scope = _scope(cut)
    if scope is not None:
        counts: Counter[str] = Counter()
        platforms = {}
        for platform, sums_of in sums(conn, scope, cut.start, cut.end, "platform").items():
            counts.update(sums_of)
            if sums_of["inbound"]:
                platforms[platform] = sums_of["inbound"]
    else:
        counts = _fact_totals(conn, cut)
        platforms = {
            str(p): int(n)
            for p, n in conn.execute(
                select(rm.platform, func.count())
                .where(*_message_cut(cut), rm.direction == "inbound")
                .group_by(rm.platform)
            )
        }
    exact = _exactness(conn, cut, scope, counts)
    total_in = counts["inbound"]
    social = sum(n for p, n in platforms.items() if p in SOCIAL)
    csat, csat_mean, nps, nps_answers, asked, answered = _surveys(conn, cut)
    reviews, qa = conn.execute(
        select(func.count(), func.avg(rv.score)).where(*_review_cut(cut))
    ).one()
    return Overview(
        inbound=total_in,
        outbound=counts["outbound"],
        auto_acks=counts["auto_acks"],
        negative_share=round(counts["negative"] / total_in, 4) if total_in else None,
        by_platform=platforms,
        social_share=round(social / total_in, 4) if total_in else None,
        needing_response=counts["needing"],
        responded=counts["responded"],
        suppressed=counts["suppressed"],
        first_response=_durations(conn, cut, "first", scope, exact("first")),
        next_response=_durations(conn, cut, "next", scope, exact("next")),
        resolution=_durations(conn, cut, "resolution", scope, exact("resolution")),
        first_sla=Attainment(counts["first_met"], counts["first_judged"]),
        next_sla=Attainment(counts["next_met"], counts["next_judged"]),
        sentiment_before=_shares(counts, "before"),
        sentiment_after=_shares(counts, "after"),
        turned_around=Attainment(counts["turned"], counts["turn_base"]),
        positive_after_engagement=counts["positive_engaged"],
        csat=csat,
        csat_mean=csat_mean,
        nps=nps,
        nps_answers=nps_answers,
        surveys_asked=asked,
        surveys_answered=answered,
        reviews=int(reviews),
        qa_score=None if qa is None else round(float(qa), 1),
    )


def _shares(counts: Counter[str], side: str) -> dict[str, int]:
    return {s: counts[f"{side}_{s}"] for s in SENTIMENTS if counts[f"{side}_{s}"]}


def _exactness(
    conn: Connection, cut: Cut, scope: Scope | None, counts: Counter[str]
) -> Callable[[str], bool]:
    """Whether each kind of duration of the cut is read exactly (see EXACT_LIMIT)."""
    if scope is None:
        return lambda kind: True  # the facts serve the cut: exact is all there is
    names = tuple(DURATION_COUNTS.values())
    whole = scope == WHOLE_DESK
    desk = counts if whole else summed(conn, WHOLE_DESK, cut.start, cut.end, *names)

    def exact(kind: str) -> bool:
        name = DURATION_COUNTS[kind]
        return counts[name] <= EXACT_LIMIT and desk[name] <= SCAN_LIMIT

    return exact


def _durations(
    conn: Connection, cut: Cut, kind: str, scope: Scope | None, exact: bool
) -> Durations:
    """Exact from the facts, or read from the rollups' histogram (buckets 5% wide)."""
    name = f"{kind}_b" if cut.business else kind
    if scope is not None and not exact:
        count, median, p90 = percentiles(histogram(conn, scope, cut.start, cut.end, name))
        return Durations(count, median, p90)
    if kind == "resolution":
        seconds = rc.resolution_business_seconds if cut.business else rc.resolution_seconds
        values = conn.execute(select(seconds).where(*_conversation_cut(cut, rc.closed_at)))
    else:
        seconds = rm.response_business_seconds if cut.business else rm.response_seconds
        values = conn.execute(select(seconds).where(*_message_cut(cut), rm.response_kind == kind))
    return durations([int(v) for (v,) in values if v is not None])


def _sentiment_counts(conn: Connection, cut: Cut) -> Counter[str]:
    rows = conn.execute(
        select(rc.sentiment_before, rc.sentiment_after, func.count())
        .where(*_conversation_cut(cut, rc.engaged_at))
        .group_by(rc.sentiment_before, rc.sentiment_after)
    ).all()
    counts: Counter[str] = Counter()
    for was, now, n in rows:
        counts["engaged"] += n
        if was:
            counts[f"before_{was}"] += n
        if now:
            counts[f"after_{now}"] += n
        if was == "negative" and now:
            counts["turn_base"] += n
            counts["turned"] += n if now in ("neutral", "positive") else 0
    return counts


def _surveys(
    conn: Connection, cut: Cut
) -> tuple[Attainment, float | None, float | None, int, int, int]:
    answered = _survey_cut(cut, sv.answered_at)
    csat = conn.execute(
        select(func.count(), count_if(sv.score >= 4), func.avg(sv.score)).where(
            *answered, sv.kind == "csat"
        )
    ).one()
    nps = conn.execute(
        select(func.count(), count_if(sv.score >= 9), count_if(sv.score <= 6)).where(
            *answered, sv.kind == "nps"
        )
    ).one()
    asked = conn.execute(
        select(func.count(), count_if(sv.answered_at.is_not(None))).where(
            *_survey_cut(cut, sv.asked_at)
        )
    ).one()
    nps_answers = int(nps[0])
    nps_score = round(100 * (nps[1] - nps[2]) / nps_answers, 1) if nps_answers else None
    return (
        Attainment(int(csat[1]), int(csat[0])),
        None if csat[2] is None else round(float(csat[2]), 2),
        nps_score,
        nps_answers,
        int(asked[0]),
        int(asked[1]),
    )


# -- time series -----------------------------------------------------------------------------------


def bucket_starts(cut: Cut, hourly: bool) -> list[datetime]:
    """The starts of the buckets covering the range: hours, or local days of the cut's zone."""
    if hourly:
        first = cut.start.replace(minute=0, second=0, microsecond=0)
        count = math.ceil((cut.end - first) / timedelta(hours=1))
        return [first + timedelta(hours=i) for i in range(count)]
    local = zone(cut.tz, "tz")
    day: date = cut.start.astimezone(local).date()
    starts: list[datetime] = []
    while True:
        start = datetime.combine(day, datetime.min.time(), local).astimezone(UTC)
        if start >= cut.end:
            return starts
        starts.append(start)
        day += timedelta(days=1)


def series(conn: Connection, cut: Cut, *, hourly: bool | None = None) -> list[Point]:
    """Inbound, outbound and negative messages per bucket, and the backlog at each bucket's end.
    Ranges of two days or less are hourly unless told otherwise."""
    if hourly is None:
        hourly = cut.end - cut.start <= timedelta(days=2)
    starts = bucket_starts(cut, hourly)
    scope = _scope(cut)
    names = ("inbound", "outbound", "negative", "opened", "closed")
    if scope is not None:
        per_hour = rollup_hours(conn, scope, cut.start, cut.end, *names)
        earlier = summed(conn, scope, None, cut.start, "opened", "closed")
        backlog = earlier["opened"] - earlier["closed"]
    else:
        per_hour = _fact_hours(conn, cut)
        backlog = _backlog_at(conn, cut, cut.start)
    points = []
    edges = [*starts[1:], cut.end]
    hours = sorted(per_hour)
    position = 0
    for start, end in zip(starts, edges, strict=True):
        sums: Counter[str] = Counter()
        while position < len(hours) and hours[position] < end:
            sums.update(per_hour[hours[position]])
            position += 1
        backlog += sums["opened"] - sums["closed"]
        points.append(Point(start, sums["inbound"], sums["outbound"], sums["negative"], backlog))
    return points


def _fact_hours(conn: Connection, cut: Cut) -> dict[datetime, dict[str, int]]:
    hour = hour_number(rm.at, conn.dialect.name)
    found: dict[datetime, dict[str, int]] = {}
    for number, inbound, outbound, negative in conn.execute(
        select(
            hour,
            count_if(rm.direction == "inbound"),
            count_if(and_(rm.direction == "outbound", rm.auto_ack.is_(False))),
            count_if(and_(rm.direction == "inbound", rm.sentiment == "negative")),
        )
        .where(*_message_cut(cut))
        .group_by(hour)
    ):
        found[hour_start(int(number))] = {
            "inbound": int(inbound),
            "outbound": int(outbound),
            "negative": int(negative),
        }
    for name, column in (("opened", rc.opened_at), ("closed", rc.closed_at)):
        for at, n in _per_hour(conn, cut, column).items():
            found.setdefault(at, {})[name] = n
    return found


def _per_hour(conn: Connection, cut: Cut, column: Any) -> dict[datetime, int]:
    hour = hour_number(column, conn.dialect.name)
    rows = conn.execute(
        select(hour, func.count()).where(*_conversation_cut(cut, column)).group_by(hour)
    )
    return {hour_start(int(number)): int(n) for number, n in rows}


def _backlog_at(conn: Connection, cut: Cut, at: datetime) -> int:
    where = _conversation_cut(cut, rc.opened_at)[2:]  # the filters, not the range
    return int(
        conn.execute(
            select(func.count()).where(
                *where, rc.opened_at < at, (rc.closed_at.is_(None)) | (rc.closed_at >= at)
            )
        ).scalar_one()
    )


# -- breakdowns -------------------------------------------------------------------------------


def breakdown(conn: Connection, cut: Cut, by: Dimension) -> list[BreakdownRow]:
    """The volume and response metrics per value of one dimension, largest inbound first. The
    rollups serve a breakdown by platform under any cut they serve, and a breakdown by another
    dimension under a platform filter alone (or none)."""
    scope = _scope(cut)
    if scope is not None and by is Dimension.PLATFORM:
        found = _rollup_breakdown(conn, cut, by, scope, scope, "platform")
    elif scope is not None and scope.dimension == ALL:
        rows = Scope(by.value, None, scope.platform)
        found = _rollup_breakdown(conn, cut, by, scope, rows, "value")
    else:
        found = _fact_breakdown(conn, cut, by)
    return sorted(found, key=lambda r: (-r.inbound, -r.outbound, r.key))


def _rollup_breakdown(
    conn: Connection,
    cut: Cut,
    by: Dimension,
    served: Scope,
    scope: Scope,
    group: Literal["value", "platform"],
) -> list[BreakdownRow]:
    """The rows of `scope` grouped by value or platform; `served` is the cut's own scope (what
    decides whether exact durations are cheap)."""
    name = "first_b" if cut.business else "first"
    found = sums(conn, scope, cut.start, cut.end, group)
    counts: Counter[str] = Counter()
    for totals_of in found.values():
        counts.update(totals_of)
    firsts: dict[str, Durations]
    if not _exactness(conn, cut, served, counts)("first"):
        by_value = histograms(conn, scope, cut.start, cut.end, name, group)
        firsts = {v: Durations(*percentiles(h)) for v, h in by_value.items()}
    else:
        key, source = _breakdown_key(by)
        exact = _first_responses_by(conn, cut, key, source)
        firsts = {v: durations(values) for v, values in exact.items()}
    rows = []
    for value, counts in found.items():
        first = firsts.get(value, Durations(0, None, None))
        rows.append(
            BreakdownRow(
                key=value,
                inbound=counts["inbound"],
                outbound=counts["outbound"],
                needing_response=counts["needing"],
                responded=counts["responded"],
                first_response=first,
                first_sla=Attainment(counts["first_met"], counts["first_judged"]),
            )
        )
    return rows


def _breakdown_key(by: Dimension) -> tuple[Any, Any]:
    """The column a breakdown groups the facts by, and what to select them from."""
    if by is Dimension.TAG:
        ct = t.conversation_tags.c
        joined = t.report_messages.join(
            t.conversation_tags, ct.conversation_id == rm.conversation_id
        )
        return ct.tag, joined
    column = {
        Dimension.PLATFORM: rm.platform,
        Dimension.CHANNEL: rm.channel_id,
        Dimension.TEAM: rm.team_id,
        Dimension.AGENT: rm.agent_id,
        Dimension.INTENT: rm.intent,
    }[by]
    return column, t.report_messages


def _first_responses_by(conn: Connection, cut: Cut, key: Any, source: Any) -> dict[str, list[int]]:
    seconds = rm.response_business_seconds if cut.business else rm.response_seconds
    found: dict[str, list[int]] = {}
    for value, s in conn.execute(
        select(key, seconds)
        .select_from(source)
        .where(*_message_cut(cut), rm.response_kind == "first")
    ):
        found.setdefault("" if value is None else str(value), []).append(int(s))
    return found


def _fact_breakdown(conn: Connection, cut: Cut, by: Dimension) -> list[BreakdownRow]:
    key, source = _breakdown_key(by)
    inbound = rm.direction == "inbound"
    needing = and_(inbound, rm.needs_response.is_(True), rm.suppressed.is_(False))
    first = rm.response_kind == "first"
    rows = conn.execute(
        select(
            key,
            count_if(inbound),
            count_if(and_(rm.direction == "outbound", rm.auto_ack.is_(False))),
            count_if(needing),
            count_if(and_(needing, rm.responded_at.is_not(None))),
            count_if(and_(first, rm.sla_met.is_(True))),
            count_if(and_(first, rm.sla_met.is_not(None))),
        )
        .select_from(source)
        .where(*_message_cut(cut))
        .group_by(key)
    ).all()
    firsts = _first_responses_by(conn, cut, key, source)
    return [
        BreakdownRow(
            key="" if value is None else str(value),
            inbound=int(n_in),
            outbound=int(n_out),
            needing_response=int(n_need),
            responded=int(n_done),
            first_response=durations(firsts.get("" if value is None else str(value), [])),
            first_sla=Attainment(int(met), int(judged)),
        )
        for value, n_in, n_out, n_need, n_done, met, judged in rows
    ]
