"""The Conversation aggregate: the unit of work (a "ticket") and its state machine.

States and the moves between them:

    open ──reply──▶ pending ──customer writes──▶ open
    open/pending ──snooze──▶ snoozed ──time passes / customer writes / reopen──▶ open
    open/pending/snoozed ──close──▶ closed ──reopen / customer writes within the quiet period──▶ open

"open" means the brand owes an answer; "pending" means we answered and wait for the customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from socialdesk.domain.errors import InvalidInput, InvalidTransition
from socialdesk.domain.messages import Visibility
from socialdesk.domain.sla import ResponseTargets
from socialdesk.domain.tags import apply_tags
from socialdesk.domain.triage import (
    PriorityContext,
    PriorityWeights,
    TextSignals,
    score_priority_from_basis,
)

PREVIEW_CHARS = 200


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    CLOSED = "closed"


def preview_of(text: str) -> str:
    """The first words of a message, on one line, for queue rows."""
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


@dataclass(slots=True)
class Conversation:
    channel_id: int
    platform: str
    customer_id: int
    identity_id: int | None
    visibility: Visibility
    created_at: datetime
    status: Status = Status.OPEN
    thread_key: str | None = None
    subject: str | None = None
    priority: int = 0
    sentiment: str | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    tags: list[str] = field(default_factory=list)
    snoozed_until: datetime | None = None
    updated_at: datetime | None = None
    last_message_at: datetime | None = None
    last_inbound_at: datetime | None = None
    waiting_since: datetime | None = None
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    sla_due_at: datetime | None = None
    message_count: int = 0
    preview: str = ""
    intent: str | None = None
    language: str | None = None
    priority_basis: dict[str, Any] = field(default_factory=dict)
    priority_factors: list[dict[str, Any]] = field(default_factory=list)
    priority_scored_at: datetime | None = None
    # SLA (see services/sla.py): the policy, its due times and state, and the periods spent
    # pending (closed periods wait in `pending_periods` until the SLA service turns them into
    # business time in `sla_paused_seconds`; it knows the calendar).
    sla_policy_id: int | None = None
    first_response_due_at: datetime | None = None
    next_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    sla_state: str | None = None
    sla_paused_seconds: int = 0
    pending_since: datetime | None = None
    pending_periods: list[list[str]] = field(default_factory=list)
    sla_refreshed_at: datetime | None = None
    # What the playbook decided that stays with the conversation.
    priority_rule: dict[str, int] | None = None
    suppressed_reason: str | None = None
    private_mode: str | None = None
    auto_acked_at: datetime | None = None
    id: int | None = None

    # -- messages arriving -------------------------------------------------------------------

    def receive_customer_message(
        self, at: datetime, text: str, now: datetime, targets: ResponseTargets
    ) -> bool:
        """A customer wrote. Returns whether this reopened a closed conversation.

        The customer now waits for us (unless they were already waiting, whose clock keeps running
        from the first unanswered message); snoozed and pending conversations become open again.
        """
        reopened = self.status is Status.CLOSED
        if self.status is not Status.OPEN:
            self._leave_pending(at)
            self.status = Status.OPEN
            self.snoozed_until = None
            self.closed_at = None
            self.close_reason = None
        if self.waiting_since is None or at < self.waiting_since:
            self.waiting_since = at
        self.last_inbound_at = at if self.last_inbound_at is None else max(self.last_inbound_at, at)
        self.preview = preview_of(text)
        self._touch_message(at, now)
        self.sla_due_at = targets.due(self.waiting_since, self.first_response_at is not None)
        return reopened

    def record_survey_answer(self, at: datetime, now: datetime) -> None:
        """The customer wrote after the close only to answer its survey: the message joins the
        conversation, which keeps its state (closed, out of the queue: nobody owes an answer)."""
        self.last_inbound_at = at if self.last_inbound_at is None else max(self.last_inbound_at, at)
        self._touch_message(at, now)

    def record_brand_reply(self, at: datetime, now: datetime, status_after: Status) -> None:
        """The brand answered (through the desk or natively on the platform) at time `at`."""
        if self.first_response_at is None and self.waiting_since is not None:
            self.first_response_at = at
        if self.waiting_since is not None and at >= self.waiting_since:
            self.waiting_since = None
            self.sla_due_at = None
        self._touch_message(at, now)
        self._move_to(status_after, now)

    # -- triage -------------------------------------------------------------------------------

    def apply_triage(
        self,
        signals: TextSignals,
        message_at: datetime,
        context: PriorityContext,
        weights: PriorityWeights,
        now: datetime,
    ) -> None:
        """Take a message's triage into the conversation's sentiment, intent and priority.

        While the customer waits, the strongest signals of their unanswered messages count (a
        "hello?" after "my order is lost" keeps the urgency); a new wait starts afresh.
        """
        if self.last_inbound_at is None or message_at >= self.last_inbound_at:
            self.sentiment = signals.sentiment
            if signals.language != "und":
                self.language = signals.language
        if signals.intent != "other" or self.intent is None:
            self.intent = signals.intent
        basis = {
            "needs_response_p": signals.needs_response_p,
            "negativity": signals.negativity,
            "spam_p": signals.spam_p,
            "followers": context.followers,
            "verified": context.verified,
            "vip": context.vip,
            "since": self.waiting_since.isoformat() if self.waiting_since else None,
        }
        previous = self.priority_basis
        if previous and previous.get("since") == basis["since"] and basis["since"] is not None:
            basis["needs_response_p"] = max(basis["needs_response_p"], previous["needs_response_p"])
            basis["negativity"] = max(basis["negativity"], previous["negativity"])
            basis["spam_p"] = min(basis["spam_p"], previous["spam_p"])
        self.priority_basis = basis
        self.rescore(weights, context.target_minutes, now)

    def rescore(self, weights: PriorityWeights, target_minutes: float, now: datetime) -> None:
        """Priority from the stored basis and the time waited so far (run again as time passes)."""
        if not self.priority_basis:
            return
        basis = self.priority_basis
        waited = (now - self.waiting_since).total_seconds() / 60 if self.waiting_since else 0.0
        priority = score_priority_from_basis(basis, waited, target_minutes, weights)
        factors = [
            {"name": f.name, "points": f.points, "detail": f.detail} for f in priority.factors
        ]
        score = priority.score
        rule = self.priority_rule or {}
        if rule:
            ruled = rule.get("set", score) + rule.get("add", 0)
            ruled = max(0, min(100, ruled))
            factors.append(
                {"name": "playbook", "points": ruled - score, "detail": _rule_detail(rule)}
            )
            score = ruled
        self.priority = score
        self.priority_factors = factors
        self.priority_scored_at = now

    def record_note(self, now: datetime) -> None:
        self.updated_at = now

    def _touch_message(self, at: datetime, now: datetime) -> None:
        self.message_count += 1
        self.last_message_at = at if self.last_message_at is None else max(self.last_message_at, at)
        self.updated_at = now

    # -- agent actions ----------------------------------------------------------------------

    def assign(self, assignee_id: int | None, team_id: int | None, now: datetime) -> None:
        self.assignee_id = assignee_id
        self.team_id = team_id
        self.updated_at = now

    def retag(
        self, add: list[str], remove: list[str], now: datetime
    ) -> tuple[list[str], list[str]]:
        """Adds and removes tags; returns what really changed (added, removed)."""
        added, removed = apply_tags(self.tags, add, remove)
        if added or removed:
            self.updated_at = now
        return added, removed

    def snooze(self, until: datetime, now: datetime) -> None:
        if self.status is Status.CLOSED:
            raise InvalidTransition(
                f"conversation {self.id} is closed; reopen it before snoozing it"
            )
        if until <= now:
            raise InvalidInput(
                f"snooze until {until.isoformat()} is not in the future (now {now.isoformat()})",
                field="until",
            )
        if until - now > timedelta(days=366):
            raise InvalidInput("snooze for at most a year", field="until")
        self._leave_pending(now)
        self.status = Status.SNOOZED
        self.snoozed_until = until
        self.updated_at = now

    def wake(self, now: datetime) -> None:
        """A snooze ran out: back to the queue as open."""
        if self.status is Status.SNOOZED:
            self.status = Status.OPEN
            self.snoozed_until = None
            self.updated_at = now

    def close(self, now: datetime, reason: str | None) -> None:
        if self.status is Status.CLOSED:
            raise InvalidTransition(f"conversation {self.id} is already closed")
        self._leave_pending(now)
        self.status = Status.CLOSED
        self.closed_at = now
        self.close_reason = reason
        self.snoozed_until = None
        self.waiting_since = None
        self.sla_due_at = None
        self.updated_at = now

    def reopen(self, now: datetime, targets: ResponseTargets) -> None:
        if self.status not in (Status.CLOSED, Status.SNOOZED):
            raise InvalidTransition(
                f"conversation {self.id} is {self.status.value}, not closed or snoozed; "
                "only those can be reopened"
            )
        self.status = Status.OPEN
        self.closed_at = None
        self.close_reason = None
        self.suppressed_reason = None
        self.snoozed_until = None
        self.updated_at = now
        self.sla_due_at = targets.due(self.waiting_since, self.first_response_at is not None)

    def _move_to(self, status: Status, now: datetime) -> None:
        if status is Status.CLOSED:
            if self.status is not Status.CLOSED:
                self.close(now, None)
            return
        if status is Status.SNOOZED:
            raise InvalidInput("use snooze to snooze a conversation", field="status")
        if status is Status.PENDING and self.status is not Status.PENDING:
            self.pending_since = now
        elif status is not Status.PENDING:
            self._leave_pending(now)
        self.status = status
        self.snoozed_until = None
        self.closed_at = None
        self.updated_at = now

    def _leave_pending(self, at: datetime) -> None:
        """End a pending period (the SLA clock's pause) at `at`, if one is running."""
        if self.pending_since is not None:
            if at > self.pending_since:
                self.pending_periods.append([self.pending_since.isoformat(), at.isoformat()])
            self.pending_since = None

    def suppress(self, reason: str, now: datetime) -> None:
        """The playbook says no response is needed: out of the queue, with the reason kept (the
        conversation counts as suppressed, not answered), undone by reopening it."""
        self.suppressed_reason = reason
        if self.status is not Status.CLOSED:
            self.close(now, f"suppressed: {reason}")


def _rule_detail(rule: dict[str, int]) -> str:
    parts = []
    if "set" in rule:
        parts.append(f"set to {rule['set']}")
    if rule.get("add"):
        parts.append(f"{rule['add']:+d}")
    return "playbook " + " ".join(parts)
