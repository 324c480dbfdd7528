"""What quality-review tests stand on: closed conversations handled by someone, and CSAT answers
written straight into `surveys` (as the survey feature stores them)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from socialdesk.adapters.db import tables as t
from socialdesk.bootstrap import Desk
from socialdesk.domain.agents import Agent
from socialdesk.services import conversations as actions
from socialdesk.services.intake import ingest
from tests import factories as f


def handled(
    desk: Desk,
    channel_id: int,
    n: int,
    actor: Agent,
    *,
    assignee: Agent | None = None,
    text: str | None = None,
    close: bool = True,
) -> int:
    """A new customer's post `n` now, assigned to `assignee` and (unless told) closed by
    `actor`; its conversation's id."""
    now = desk.clock.now()
    result = ingest(
        desk.uow,
        [f.inbound(channel_id, f"post-{n}", text or f"post {n}", author=f"customer-{n}", at=now)],
        now=now,
        policy=desk.policy,
        source="test",
    )
    conversation_id = result.outcomes[0].conversation_id
    if assignee is not None:
        actions.assign(
            desk.uow(),
            actor,
            conversation_id,
            actions.Assignment(assignee_id=assignee.id, team_id=None),
            now,
        )
    if close:
        actions.close(desk.uow(), actor, conversation_id, None, now)
    return conversation_id


def answer_survey(
    desk: Desk, channel_id: int, conversation_id: int, score: int | None, kind: str = "csat"
) -> None:
    """A survey asked now about the conversation, answered with `score` (None: unanswered)."""
    now = desk.clock.now()
    with desk.engine.begin() as conn:
        conn.execute(
            insert(t.surveys).values(
                conversation_id=conversation_id,
                kind=kind,
                channel_id=channel_id,
                platform="x",
                token_hash=f"{conversation_id}-{kind}-{score}-{now.isoformat()}",
                asked_at=now,
                expires_at=now + timedelta(days=7),
                score=score,
                answered_at=now if score is not None else None,
                answered_via="message" if score is not None else None,
            )
        )
