"""Surveys' storage: the questions asked after a close and their answers, and the close events the
survey job reads (docs/surveys.md)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Row

from socialdesk.adapters.db import tables as t
from socialdesk.domain.events import ConversationClosed
from socialdesk.domain.surveys import AnsweredVia, Survey, SurveyKind

s = t.surveys.c
c = t.conversations.c
e = t.events.c


def survey_from_row(row: Row[Any]) -> Survey:
    return Survey(
        conversation_id=row.conversation_id,
        kind=SurveyKind(row.kind),
        channel_id=row.channel_id,
        platform=row.platform,
        token_hash=row.token_hash,
        asked_at=row.asked_at,
        expires_at=row.expires_at,
        team_id=row.team_id,
        agent_id=row.agent_id,
        question_message_id=row.question_message_id,
        score=row.score,
        answered_at=row.answered_at,
        answered_via=AnsweredVia(row.answered_via) if row.answered_via else None,
        answer_message_id=row.answer_message_id,
        id=row.id,
    )


class SurveyStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def closes_after(
        self, after: int, limit: int
    ) -> tuple[list[tuple[int, int, datetime]], int, int]:
        """Reads events by id (the primary key) and keeps the closes, so the job's cursor moves
        over all events at the cost of one index range scan per batch."""
        rows = self.conn.execute(
            select(e.id, e.type, e.conversation_id, e.occurred_at)
            .where(e.id > after)
            .order_by(e.id)
            .limit(limit)
        ).all()
        closes = [
            (row.id, row.conversation_id, row.occurred_at)
            for row in rows
            if row.type == ConversationClosed.name and row.conversation_id is not None
        ]
        return closes, rows[-1].id if rows else after, len(rows)

    def add(self, survey: Survey) -> None:
        survey.id = self.conn.execute(
            insert(t.surveys)
            .values(
                conversation_id=survey.conversation_id,
                kind=survey.kind.value,
                channel_id=survey.channel_id,
                platform=survey.platform,
                team_id=survey.team_id,
                agent_id=survey.agent_id,
                question_message_id=survey.question_message_id,
                token_hash=survey.token_hash,
                asked_at=survey.asked_at,
                expires_at=survey.expires_at,
            )
            .returning(s.id)
        ).scalar_one()

    def by_token_hash(self, token_hash: str, *, for_update: bool = False) -> Survey | None:
        stmt = select(t.surveys).where(s.token_hash == token_hash)
        row = self.conn.execute(stmt.with_for_update() if for_update else stmt).first()
        return survey_from_row(row) if row is not None else None

    def latest_for_conversation(self, conversation_id: int) -> Survey | None:
        row = self.conn.execute(
            select(t.surveys)
            .where(s.conversation_id == conversation_id)
            .order_by(s.asked_at.desc(), s.id.desc())
            .limit(1)
        ).first()
        return survey_from_row(row) if row is not None else None

    def last_asked(self, customer_id: int) -> datetime | None:
        found: datetime | None = self.conn.execute(
            select(func.max(s.asked_at))
            .select_from(t.surveys.join(t.conversations, c.id == s.conversation_id))
            .where(c.customer_id == customer_id)
        ).scalar()
        return found

    def awaiting(self, customer_ids: Collection[int], since: datetime) -> list[tuple[int, Survey]]:
        """Driven by the customers' conversations (ix_conversations_customer) and their surveys
        (ix_surveys_conversation), so the many surveys nobody answered cost nothing here."""
        if not customer_ids:
            return []
        rows = self.conn.execute(
            select(t.surveys, c.customer_id.label("customer_id"))
            .join(t.conversations, c.id == s.conversation_id)
            .where(
                c.customer_id.in_(sorted(customer_ids)),
                s.answered_at.is_(None),
                s.expires_at > since,
            )
            .order_by(s.asked_at, s.id)
            .with_for_update(of=t.surveys)
        ).all()
        return [(row.customer_id, survey_from_row(row)) for row in rows]

    def save_answer(self, survey: Survey) -> None:
        self.conn.execute(
            update(t.surveys)
            .where(s.id == survey.id)
            .values(
                score=survey.score,
                answered_at=survey.answered_at,
                answered_via=survey.answered_via.value if survey.answered_via else None,
                answer_message_id=survey.answer_message_id,
            )
        )
