"""Surveys, read: the CSAT/NPS questions asked after closes and their answers, for supervisors.

One statement per page, newest first, paged by id (`before`): filters by conversation, answered
or not, and the time asked. The numbers over them (CSAT, NPS, response rate) are the analytics
queries' (docs/metrics.md); this is the list behind them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Connection

from socialdesk.adapters.db import tables as t
from socialdesk.adapters.db.surveys import survey_from_row

MAX_PAGE = 500
s = t.surveys.c


@dataclass(frozen=True, slots=True)
class SurveyFilter:
    conversation_id: int | None = None
    answered: bool | None = None
    asked_from: datetime | None = None  # included
    asked_until: datetime | None = None  # excluded


@dataclass(frozen=True, slots=True)
class SurveyItem:
    id: int
    conversation_id: int
    kind: str
    state: str  # open | answered | expired
    channel_id: int
    platform: str
    team_id: int | None
    agent_id: int | None
    asked_at: datetime
    expires_at: datetime
    score: int | None
    answered_at: datetime | None
    answered_via: str | None  # message | link
    question_message_id: int | None
    answer_message_id: int | None


@dataclass(frozen=True, slots=True)
class SurveyPage:
    items: list[SurveyItem]
    next_before: int | None  # pass as `before` for the next page; None on the last


def list_surveys(
    conn: Connection,
    filters: SurveyFilter,
    now: datetime,
    *,
    before: int | None = None,
    limit: int = 100,
) -> SurveyPage:
    where: list[ColumnElement[bool]] = []
    if filters.conversation_id is not None:
        where.append(s.conversation_id == filters.conversation_id)
    if filters.answered is not None:
        where.append(s.score.is_not(None) if filters.answered else s.score.is_(None))
    if filters.asked_from is not None:
        where.append(s.asked_at >= filters.asked_from)
    if filters.asked_until is not None:
        where.append(s.asked_at < filters.asked_until)
    if before is not None:
        where.append(s.id < before)
    rows = conn.execute(
        select(t.surveys).where(*where).order_by(s.id.desc()).limit(limit + 1)
    ).all()
    items = []
    for row in rows[:limit]:
        survey = survey_from_row(row)
        assert survey.id is not None
        items.append(
            SurveyItem(
                id=survey.id,
                conversation_id=survey.conversation_id,
                kind=survey.kind.value,
                state=survey.state(now).value,
                channel_id=survey.channel_id,
                platform=survey.platform,
                team_id=survey.team_id,
                agent_id=survey.agent_id,
                asked_at=survey.asked_at,
                expires_at=survey.expires_at,
                score=survey.score,
                answered_at=survey.answered_at,
                answered_via=survey.answered_via.value if survey.answered_via else None,
                question_message_id=survey.question_message_id,
                answer_message_id=survey.answer_message_id,
            )
        )
    return SurveyPage(items, items[-1].id if len(rows) > limit else None)
