"""Quality reviews' storage: rubric versions, reviews, and the closed conversations a sample is
drawn from (docs/quality.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.engine import Connection, Row

from socialdesk.adapters.db import tables as t
from socialdesk.domain.conversations import Status
from socialdesk.domain.reviews import (
    LOW_CSAT,
    Criterion,
    Review,
    Rubric,
    SampleMode,
    SampleRequest,
)

c = t.conversations.c
rr = t.review_rubrics.c
rv = t.reviews.c
sv = t.surveys.c


def criteria_from_json(raw: Sequence[Mapping[str, Any]]) -> tuple[Criterion, ...]:
    """A stored rubric's criteria (checked when it was saved)."""
    return tuple(Criterion(i["key"], i["label"], i["weight"], i["max"]) for i in raw)


def rubric_from_row(row: Row[Any]) -> Rubric:
    return Rubric(criteria_from_json(row.criteria), row.created_at, row.author_id, row.id)


class ReviewStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def latest_rubric(self) -> Rubric | None:
        row = self.conn.execute(
            select(t.review_rubrics).order_by(rr.created_at.desc(), rr.id.desc()).limit(1)
        ).first()
        return rubric_from_row(row) if row is not None else None

    def add_rubric(self, rubric: Rubric) -> Rubric:
        new_id = self.conn.execute(
            insert(t.review_rubrics)
            .values(
                criteria=rubric.as_json(), created_at=rubric.created_at, author_id=rubric.author_id
            )
            .returning(rr.id)
        ).scalar_one()
        return replace(rubric, id=new_id)

    def has_review(self, conversation_id: int, reviewer_id: int) -> bool:
        found = self.conn.execute(
            select(rv.id)
            .where(rv.conversation_id == conversation_id, rv.reviewer_id == reviewer_id)
            .limit(1)
        ).first()
        return found is not None

    def add(self, review: Review) -> None:
        review.id = self.conn.execute(
            insert(t.reviews)
            .values(
                conversation_id=review.conversation_id,
                agent_id=review.agent_id,
                reviewer_id=review.reviewer_id,
                rubric_id=review.rubric_id,
                scores=review.scores,
                score=review.score,
                comment=review.comment,
                sampled_by=review.sampled_by,
                created_at=review.created_at,
            )
            .returning(rv.id)
        ).scalar_one()

    def candidates(self, request: SampleRequest) -> list[int]:
        """Ids of the conversations closed in the request's range that nobody has reviewed yet
        and that fit its mode, in id order (the draw's ranking does not depend on it, but the
        statement's result should not depend on the plan)."""
        wanted = [
            c.status == Status.CLOSED.value,
            c.closed_at >= request.since,
            c.closed_at < request.until,
            # Not correlated: both engines read the reviews once into a hashed set (a
            # correlated NOT EXISTS would scan them per candidate on SQLite: no index leads
            # with conversation_id, and none is needed elsewhere).
            c.id.not_in(select(rv.conversation_id)),
        ]
        if request.agent_id is not None:
            wanted.append(c.assignee_id == request.agent_id)
        if request.mode is SampleMode.LOW_CSAT:
            wanted.append(
                exists().where(
                    sv.conversation_id == c.id,
                    sv.kind == "csat",
                    sv.answered_at.is_not(None),
                    sv.score <= LOW_CSAT,
                )
            )
        return list(self.conn.execute(select(c.id).where(*wanted).order_by(c.id)).scalars())
