"""Quality reviews, read: a drawn sample with what a reviewer needs to pick (preview, agent,
CSAT), the reviews made, the rubric's saved versions, and each agent's results per week.

A fixed number of statements per call whatever the size: the sample 3 (conversations with their
channel, customer and assignee; their tags; their CSAT answers), the review list 1, the rubric
versions 1, the weekly results 1 (aggregated here: reviews are made by people, a few hundred a
week at most).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.engine import Connection, Row

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.reviews import criteria_from_json
from socialdesk.domain.reviews import Criterion, percent_of_max, week_start
from socialdesk.queries.inbox import (
    AgentRef,
    ConversationSummary,
    summary_from_row,
    summary_select,
    tags_for,
)

MAX_REVIEWS = 200
MAX_VERSIONS = 50  # rubric versions listed: saved by people, a handful a year
c = t.conversations.c
rv = t.reviews.c
rr = t.review_rubrics.c
sv = t.surveys.c
agent = t.agents.alias("agent")
reviewer = t.agents.alias("reviewer")


@dataclass(frozen=True, slots=True)
class SampleItem:
    conversation: ConversationSummary
    csat: int | None  # the customer's latest CSAT answer (1-5), if they gave one


def list_sample(conn: Connection, conversation_ids: Sequence[int]) -> list[SampleItem]:
    """The drawn conversations, in the order drawn."""
    if not conversation_ids:
        return []
    ids = list(conversation_ids)
    rows = {r.id: r for r in conn.execute(summary_select().where(c.id.in_(ids)))}
    tags = tags_for(conn, ids)
    csat: dict[int, int] = {}
    for conversation_id, score in conn.execute(
        select(sv.conversation_id, sv.score)
        .where(
            sv.conversation_id.in_(ids),
            sv.kind == "csat",
            sv.answered_at.is_not(None),
            sv.score.is_not(None),
        )
        .order_by(sv.answered_at, sv.id)
    ):
        csat[conversation_id] = score
    return [
        SampleItem(summary_from_row(rows[i], tags.get(i, [])), csat.get(i))
        for i in ids
        if i in rows
    ]


@dataclass(frozen=True, slots=True)
class ReviewFilter:
    agent_id: int | None = None
    conversation_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReviewView:
    id: int
    conversation_id: int
    platform: str
    preview: str
    agent: AgentRef | None
    reviewer: AgentRef
    rubric_id: int
    criteria: list[Criterion]  # of the rubric version it was scored on
    scores: dict[str, int | None]
    score: int
    comment: str
    sampled_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReviewPage:
    items: list[ReviewView]
    next_before: int | None  # pass as `before` for the next (older) page


def _ref(agent_id: int | None, display_name: str | None, username: str | None) -> AgentRef | None:
    if agent_id is None:
        return None
    return AgentRef(agent_id, display_name or username or f"agent {agent_id}")


def _conditions(wanted: ReviewFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if wanted.agent_id is not None:
        found.append(rv.agent_id == wanted.agent_id)
    if wanted.conversation_id is not None:
        found.append(rv.conversation_id == wanted.conversation_id)
    if wanted.since is not None:
        found.append(rv.created_at >= wanted.since)
    if wanted.until is not None:
        found.append(rv.created_at < wanted.until)
    return found


def list_reviews(
    conn: Connection, wanted: ReviewFilter, *, limit: int = 50, before: int | None = None
) -> ReviewPage:
    """Reviews newest first, `limit` at a time (at most MAX_REVIEWS); `before` continues after
    the id a previous page ended on."""
    limit = max(1, min(limit, MAX_REVIEWS))
    where = _conditions(wanted)
    if before is not None:
        where.append(rv.id < before)
    rows = conn.execute(
        _review_select().where(*where).order_by(rv.id.desc()).limit(limit + 1)
    ).all()
    items = [_review(row) for row in rows[:limit]]
    return ReviewPage(items, items[-1].id if len(rows) > limit else None)


def get_review(conn: Connection, review_id: int) -> ReviewView | None:
    row = conn.execute(_review_select().where(rv.id == review_id)).first()
    return _review(row) if row is not None else None


def _review_select() -> Select[Any]:
    """Reviews with their conversation's preview, the rubric they were scored on and both
    people's names, in one statement."""
    return (
        select(
            t.reviews,
            c.platform,
            c.preview,
            rr.criteria,
            agent.c.display_name.label("agent_display_name"),
            agent.c.username.label("agent_username"),
            reviewer.c.display_name.label("reviewer_display_name"),
            reviewer.c.username.label("reviewer_username"),
        )
        .join(t.conversations, c.id == rv.conversation_id)
        .join(t.review_rubrics, rr.id == rv.rubric_id)
        .join(reviewer, reviewer.c.id == rv.reviewer_id)
        .outerjoin(agent, agent.c.id == rv.agent_id)
    )


def _review(row: Row[Any]) -> ReviewView:
    reviewed_by = _ref(row.reviewer_id, row.reviewer_display_name, row.reviewer_username)
    assert reviewed_by is not None
    return ReviewView(
        id=row.id,
        conversation_id=row.conversation_id,
        platform=row.platform,
        preview=row.preview,
        agent=_ref(row.agent_id, row.agent_display_name, row.agent_username),
        reviewer=reviewed_by,
        rubric_id=row.rubric_id,
        criteria=list(criteria_from_json(row.criteria)),
        scores=dict(row.scores),
        score=row.score,
        comment=row.comment,
        sampled_by=row.sampled_by,
        created_at=row.created_at,
    )


@dataclass(frozen=True, slots=True)
class RubricVersion:
    """One saved version of the rubric, as the rubric page lists it."""

    id: int  # the version number reviews name
    created_at: datetime
    author: AgentRef | None  # None: saved by no one (the default, stored with a first review)
    criteria: list[Criterion]
    reviews: int  # scored on this version


def list_rubrics(conn: Connection, *, limit: int = MAX_VERSIONS) -> list[RubricVersion]:
    """The newest `limit` saved versions, newest first, with how many reviews each scored (one
    statement; the reviews are counted once, grouped, not per version)."""
    scored = select(rv.rubric_id, func.count().label("reviews")).group_by(rv.rubric_id).subquery()
    rows = conn.execute(
        select(
            t.review_rubrics,
            agent.c.display_name,
            agent.c.username,
            func.coalesce(scored.c.reviews, 0).label("reviews"),
        )
        .outerjoin(agent, agent.c.id == rr.author_id)
        .outerjoin(scored, scored.c.rubric_id == rr.id)
        .order_by(rr.created_at.desc(), rr.id.desc())
        .limit(limit)
    )
    return [
        RubricVersion(
            id=row.id,
            created_at=row.created_at,
            author=_ref(row.author_id, row.display_name, row.username),
            criteria=list(criteria_from_json(row.criteria)),
            reviews=row.reviews,
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class AgentWeek:
    """One agent's reviews in one week (Monday to Sunday, UTC). `criteria` holds each
    criterion's mean points as a percentage of its maximum, over the reviews that scored it
    (n/a left out); means are rounded to one decimal."""

    agent: AgentRef | None  # None: conversations nobody was assigned
    week: date  # its Monday
    reviews: int
    mean_score: float
    criteria: dict[str, float]


def agent_weeks(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    agent_id: int | None = None,
) -> list[AgentWeek]:
    """Results per agent and week of the reviews made in [since, until), by agent name, then
    week."""
    query: Select[Any] = (
        select(
            rv.agent_id,
            rv.created_at,
            rv.score,
            rv.scores,
            rr.criteria,
            agent.c.display_name,
            agent.c.username,
        )
        .join(t.review_rubrics, rr.id == rv.rubric_id)
        .outerjoin(agent, agent.c.id == rv.agent_id)
        .where(*_conditions(ReviewFilter(agent_id=agent_id, since=since, until=until)))
    )
    rows = conn.execute(query).all()
    groups: dict[tuple[int | None, date], list[Row[Any]]] = defaultdict(list)
    names: dict[int | None, AgentRef | None] = {}
    for row in rows:
        groups[(row.agent_id, week_start(row.created_at))].append(row)
        names[row.agent_id] = _ref(row.agent_id, row.display_name, row.username)
    weeks = [_week(names[agent_id], week, found) for (agent_id, week), found in groups.items()]
    return sorted(
        weeks,
        key=lambda w: (w.agent is None, w.agent.name.casefold() if w.agent else "", w.week),
    )


def _week(who: AgentRef | None, week: date, rows: list[Row[Any]]) -> AgentWeek:
    points: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for criterion in criteria_from_json(row.criteria):
            given = row.scores.get(criterion.key)
            if given is not None:
                points[criterion.key].append(percent_of_max(given, criterion.max))
    return AgentWeek(
        agent=who,
        week=week,
        reviews=len(rows),
        mean_score=round(sum(r.score for r in rows) / len(rows), 1),
        criteria={key: round(sum(v) / len(v), 1) for key, v in points.items()},
    )
