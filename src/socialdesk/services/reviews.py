"""Quality reviews: save a rubric version, draw a sample of closed conversations to review, and
submit a review (docs/quality.md).

Who may: supervisors and admins save rubrics, draw samples and review; a supervisor never
reviews their own work (domain/reviews.check_not_own_work). A reviewer reviews a conversation once;
a second opinion comes from another reviewer.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from socialdesk.domain.agents import Agent, Role
from socialdesk.domain.conversations import Conversation, Status
from socialdesk.domain.errors import Conflict, Forbidden, InvalidTransition, NotFound
from socialdesk.domain.events import ReviewSubmitted, settings_changed
from socialdesk.domain.reviews import (
    MAX_SEED,
    Review,
    Rubric,
    SampleRequest,
    check_comment,
    check_not_own_work,
    check_sampled_by,
    check_scores,
    default_rubric,
    draw,
    new_rubric,
    weighted_score,
)
from socialdesk.services.ports import AnalyticsUnitOfWork, AnalyticsUnitOfWorkFactory


def _supervisor(actor: Agent, what: str) -> None:
    if not actor.role.allows(Role.SUPERVISOR):
        raise Forbidden(f"{what} needs the supervisor role; you are {actor.role.value}")


def current_rubric(uow: AnalyticsUnitOfWorkFactory) -> Rubric:
    """The newest saved version, or the default rubric (without an id) before any was saved."""
    with uow(read_only=True) as unit:
        return unit.reviews.latest_rubric() or default_rubric()


def save_rubric(
    uow: AnalyticsUnitOfWorkFactory, actor: Agent, criteria: object, now: datetime
) -> Rubric:
    """Save a new version from criteria as sent; reviews from now on are scored on it, earlier
    ones keep the version they were scored on."""
    _supervisor(actor, "changing the rubric")
    rubric = new_rubric(criteria, actor, now)
    with uow() as unit:
        previous = unit.reviews.latest_rubric() or default_rubric()
        saved = unit.reviews.add_rubric(rubric)
        unit.events.append(
            [
                settings_changed(
                    now=now,
                    actor_id=actor.id,
                    subject="rubric",
                    subject_id=saved.id,
                    before={"criteria": previous.as_json()},
                    after={"criteria": saved.as_json()},
                )
            ]
        )
        unit.commit()
    return saved


def new_seed() -> int:
    """A seed for a request that brought none (returned with the sample, so it can be drawn
    again)."""
    return secrets.randbelow(MAX_SEED)


def draw_sample(uow: AnalyticsUnitOfWorkFactory, actor: Agent, request: SampleRequest) -> list[int]:
    """The ids of up to `request.size` closed, unreviewed conversations of the request's mode
    and range, in the seed's order: the same request on the same data draws the same ids."""
    _supervisor(actor, "drawing a review sample")
    with uow(read_only=True) as unit:
        candidates = unit.reviews.candidates(request)
    return draw(candidates, request.seed, request.size)


@dataclass(frozen=True, slots=True)
class ReviewDraft:
    """A review as a reviewer sends it. `scores` maps each criterion's key to points or
    None / "n/a"; `rubric_id`, when given, must be the rubric in force (the form was drawn with
    it); `sampled_by` says how the conversation was picked."""

    conversation_id: int
    scores: Mapping[str, object]
    comment: str = ""
    sampled_by: str = "chosen"
    rubric_id: int | None = None


def rubric_in_force(unit: AnalyticsUnitOfWork, now: datetime) -> Rubric:
    """The newest version; before any was saved, the default is saved as the first (a review
    must name the rubric it was scored on)."""
    found = unit.reviews.latest_rubric()
    if found is not None:
        return found
    return unit.reviews.add_rubric(Rubric(default_rubric().criteria, now))


def check_review(
    unit: AnalyticsUnitOfWork, reviewer: Agent, draft: ReviewDraft, now: datetime
) -> Review:
    """The review to store, or the reason it may not be: the conversation must exist and be
    closed, the scores fit the rubric in force, the reviewer may review it and has not yet."""
    assert reviewer.id is not None
    _supervisor(reviewer, "reviewing")
    comment = check_comment(draft.comment)
    sampled_by = check_sampled_by(draft.sampled_by)
    conversation = _closed(unit, draft.conversation_id)
    rubric = rubric_in_force(unit, now)
    assert rubric.id is not None
    if draft.rubric_id is not None and draft.rubric_id != rubric.id:
        raise Conflict(
            f"the rubric changed while you were reviewing (you scored version "
            f"{draft.rubric_id}, version {rubric.id} is in force); reload and score again",
            field="rubric_id",
        )
    scores = check_scores(rubric, draft.scores)
    check_not_own_work(reviewer, conversation.assignee_id)
    if unit.reviews.has_review(draft.conversation_id, reviewer.id):
        raise Conflict(
            f"you have reviewed conversation {draft.conversation_id} already",
            field="conversation_id",
        )
    return Review(
        conversation_id=draft.conversation_id,
        agent_id=conversation.assignee_id,
        reviewer_id=reviewer.id,
        rubric_id=rubric.id,
        scores=scores,
        score=weighted_score(rubric, scores),
        comment=comment,
        sampled_by=sampled_by,
        created_at=now,
    )


def _closed(unit: AnalyticsUnitOfWork, conversation_id: int) -> Conversation:
    # Locked, so the same reviewer sending twice at once (two tabs) stores one review.
    conversation = unit.conversations.get(conversation_id, for_update=True)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist", field="conversation_id")
    if conversation.status is not Status.CLOSED:
        raise InvalidTransition(
            f"conversation {conversation_id} is {conversation.status.value}; only closed "
            "conversations are reviewed",
            field="conversation_id",
        )
    return conversation


def do_submit_review(unit: AnalyticsUnitOfWork, review: Review, now: datetime) -> None:
    """Store a checked review and its event (the caller commits)."""
    unit.reviews.add(review)
    assert review.id is not None
    unit.events.append(
        [
            ReviewSubmitted(
                occurred_at=now,
                actor_agent_id=review.reviewer_id,
                conversation_id=review.conversation_id,
                review_id=review.id,
                agent_id=review.agent_id,
                rubric_id=review.rubric_id,
                score=review.score,
                sampled_by=review.sampled_by,
            )
        ]
    )


def submit_review(
    uow: AnalyticsUnitOfWorkFactory, reviewer: Agent, draft: ReviewDraft, now: datetime
) -> Review:
    with uow() as unit:
        review = check_review(unit, reviewer, draft, now)
        do_submit_review(unit, review, now)
        unit.commit()
    return review
