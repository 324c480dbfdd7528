"""Listening and alerts, read side: the saved queries with their match counts, one query's matches
over a range (per hour or per local day) with the recent matched posts, and the spike alerts
(open ones first), each in a fixed number of statements.

Counts are grouped by UTC hour in SQL and folded into the desk's local days here, so day
boundaries follow its time zone on both engines.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import Select

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.sql import count_if, hour_number, hour_start
from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.listening import query_tag
from socialdesk.queries.analytics import Cut, bucket_starts

lq = t.listening_queries.c
lm = t.listening_matches.c
m = t.messages.c
al = t.alerts.c
MAX_HOURLY = timedelta(days=14)
MAX_DAILY = timedelta(days=400)
MAX_RECENT = 100
MAX_ALERTS = 200

Bucket = Literal["hour", "day"]
AlertState = Literal["open", "closed", "all"]


@dataclass(frozen=True, slots=True)
class QueryView:
    id: int
    name: str
    query: str
    active: bool
    tag: str  # what its matches' conversations are tagged with
    author: str | None
    created_at: datetime
    updated_at: datetime
    matches_24h: int
    matches_7d: int


@dataclass(frozen=True, slots=True)
class MatchCount:
    start: datetime  # the hour, or the local day's first instant (UTC)
    matches: int
    negative: int


@dataclass(frozen=True, slots=True)
class MatchedPost:
    message_id: int
    conversation_id: int
    at: datetime
    text: str
    handle: str | None
    platform: str
    negative: bool


@dataclass(frozen=True, slots=True)
class QueryMatches:
    query: QueryView
    bucket: Bucket
    since: datetime
    until: datetime
    total: int
    negative: int
    counts: list[MatchCount]
    recent: list[MatchedPost]  # newest first, inside the range


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    subject_kind: str
    subject: str
    kinds: list[str]
    summary: str
    opened_at: datetime
    closed_at: datetime | None
    open: bool
    observed: int | None
    expected: float | None
    ratio: float | None
    negative_share: float | None
    baseline_share: float | None
    posts: list[dict[str, Any]]  # message_id, conversation_id, handle, text, at, negative


@dataclass(frozen=True, slots=True)
class AlertsPage:
    items: list[AlertView]
    next_cursor: str | None  # pass as `cursor` for the next page


# -- queries -------------------------------------------------------------------------------------


def _queries(now: datetime) -> Select[Any]:
    day, week = now - timedelta(days=1), now - timedelta(days=7)
    counts = (
        select(
            lm.query_id,
            func.count().label("week"),
            count_if(lm.at >= day).label("day"),
        )
        .where(lm.at >= week, lm.at <= now)
        .group_by(lm.query_id)
        .subquery()
    )
    return (
        select(
            t.listening_queries,
            t.agents.c.display_name,
            t.agents.c.username,
            counts.c.day,
            counts.c.week,
        )
        .outerjoin(t.agents, t.agents.c.id == lq.author_id)
        .outerjoin(counts, counts.c.query_id == lq.id)
    )


def _query_view(row: Row[Any]) -> QueryView:
    return QueryView(
        id=row.id,
        name=row.name,
        query=row.query,
        active=row.active,
        tag=query_tag(row.name),
        author=row.display_name or row.username,
        created_at=row.created_at,
        updated_at=row.updated_at,
        matches_24h=int(row.day or 0),
        matches_7d=int(row.week or 0),
    )


def list_queries(conn: Connection, now: datetime) -> list[QueryView]:
    """Every saved query, active ones first, by name; one statement."""
    rows = conn.execute(_queries(now).order_by(lq.active.desc(), func.lower(lq.name)))
    return [_query_view(row) for row in rows]


def get_query(conn: Connection, query_id: int, now: datetime) -> QueryView | None:
    row = conn.execute(_queries(now).where(lq.id == query_id)).first()
    return _query_view(row) if row else None


def default_range(now: datetime, bucket: Bucket) -> tuple[datetime, datetime]:
    """The last 7 days (per day) or 48 hours (per hour), up to the end of the current hour, so
    the newest posts are in."""
    until = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return until - (timedelta(days=7) if bucket == "day" else timedelta(hours=48)), until


def query_matches(
    conn: Connection,
    query: QueryView,
    *,
    since: datetime,
    until: datetime,
    bucket: Bucket,
    tz: str,
    recent: int = 20,
) -> QueryMatches:
    """The query's matches in `[since, until)`: counts per hour or per local day of `tz` (every
    bucket, zeros included) and the newest `recent` posts; two statements."""
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidInput("since and until must carry a time zone", field="since")
    if until <= since:
        raise InvalidInput("since must be before until", field="since")
    longest = MAX_HOURLY if bucket == "hour" else MAX_DAILY
    if until - since > longest:
        raise InvalidInput(
            f"per {bucket}, a range may span at most {longest.days} days", field="since"
        )
    if not 0 <= recent <= MAX_RECENT:
        raise InvalidInput(f"recent must be between 0 and {MAX_RECENT}", field="recent")
    starts = bucket_starts(Cut(since, until, tz=tz), bucket == "hour")
    counts = [[0, 0] for _ in starts]
    hour = hour_number(lm.at, conn.dialect.name)
    rows = conn.execute(
        select(hour, func.count(), count_if(lm.negative))
        .where(lm.query_id == query.id, lm.at >= since, lm.at < until)
        .group_by(hour)
    )
    for number, matches, negative in rows:
        index = bisect_right(starts, hour_start(int(number))) - 1
        counts[max(index, 0)][0] += int(matches)
        counts[max(index, 0)][1] += int(negative)
    posts = conn.execute(
        select(
            m.id,
            m.conversation_id,
            m.text,
            lm.at,
            lm.negative,
            t.identities.c.handle,
            t.channels.c.platform,
        )
        .select_from(t.listening_matches)
        .join(t.messages, m.id == lm.message_id)
        .join(t.channels, t.channels.c.id == m.channel_id)
        .outerjoin(t.identities, t.identities.c.id == m.author_identity_id)
        .where(lm.query_id == query.id, lm.at >= since, lm.at < until)
        .order_by(lm.at.desc(), m.id.desc())
        .limit(recent)
    )
    return QueryMatches(
        query=query,
        bucket=bucket,
        since=since,
        until=until,
        total=sum(c[0] for c in counts),
        negative=sum(c[1] for c in counts),
        counts=[MatchCount(s, c[0], c[1]) for s, c in zip(starts, counts, strict=True)],
        recent=[
            MatchedPost(
                message_id=p.id,
                conversation_id=p.conversation_id,
                at=p.at,
                text=p.text,
                handle=p.handle,
                platform=p.platform,
                negative=bool(p.negative),
            )
            for p in posts
        ],
    )


# -- alerts --------------------------------------------------------------------------------------


def list_alerts(
    conn: Connection, *, state: AlertState = "all", limit: int = 50, cursor: str | None = None
) -> AlertsPage:
    """Alerts, open ones first, newest first within each; pages by keyset (`cursor` from the
    previous page). One statement."""
    if not 1 <= limit <= MAX_ALERTS:
        raise InvalidInput(f"limit must be between 1 and {MAX_ALERTS}", field="limit")
    is_open = case((al.closed_at.is_(None), 1), else_=0)
    stmt = select(t.alerts, is_open.label("is_open"))
    if state == "open":
        stmt = stmt.where(al.closed_at.is_(None))
    elif state == "closed":
        stmt = stmt.where(al.closed_at.is_not(None))
    if cursor is not None:
        after_open, after_id = _cursor(cursor)
        stmt = stmt.where(or_(is_open < after_open, and_(is_open == after_open, al.id < after_id)))
    rows = conn.execute(stmt.order_by(is_open.desc(), al.id.desc()).limit(limit + 1)).all()
    items = [_alert_view(row) for row in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    return AlertsPage(items, f"{last.is_open}.{last.id}" if last is not None else None)


def _cursor(raw: str) -> tuple[int, int]:
    flag, _, number = raw.partition(".")
    if flag not in ("0", "1") or not number.isdigit():
        raise InvalidInput("cursor is not one this list gave out", field="cursor")
    return int(flag), int(number)


def _alert_view(row: Row[Any]) -> AlertView:
    details = dict(row.details or {})
    return AlertView(
        id=row.id,
        subject_kind=row.subject_kind,
        subject=row.subject,
        kinds=list(row.kinds),
        summary=row.summary,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        open=row.closed_at is None,
        observed=details.get("observed"),
        expected=details.get("expected"),
        ratio=details.get("ratio"),
        negative_share=details.get("negative_share"),
        baseline_share=details.get("baseline_share"),
        posts=list(details.get("posts", [])),
    )
