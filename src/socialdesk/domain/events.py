"""Domain events: past-tense facts, written to the event log in the same transaction as the change.

They feed live updates, reporting and the audit trail. Each carries who caused it (an agent or
nobody for the system) and when.

    Event
     ├── MessageReceived          a customer (or a brand reply made elsewhere) arrived via intake
     ├── MessageTriaged           the models read it: sentiment, intent, priority
     ├── ConversationOpened       intake started a new conversation
     ├── ConversationReopened     a customer wrote to a closed conversation, or an agent reopened it
     ├── ReplyQueued              an agent's reply went into the outbox
     ├── ReplySent                the platform took it (its id; reconciled: found after a lost answer)
     ├── ReplyFailed              the last attempt failed, or the platform refused it
     ├── ReplyRetried             an agent asked to try a failed reply again
     ├── NoteAdded                an agent wrote an internal note
     ├── ConversationAssigned     assignee or team changed (before/after)
     ├── ConversationTagged       tags added or removed
     ├── CustomerTagged           a person's tags changed (VIP raises priority)
     ├── ConversationSnoozed      put aside until a time
     ├── ConversationWoken        a snooze ran out
     ├── ConversationClosed       closed by an agent (reason) or by a reply with status closed
     ├── SlaWarning / SlaBreached the next due time came within the policy's warning window / passed
     ├── PlaybookMatched          rules of the live playbook fired on a message (what they did)
     ├── ConversationSuppressed   the playbook decided no response is needed (reason)
     ├── SurveySent               a CSAT/NPS question went into the outbox after a close
     ├── SurveyAnswered           the customer gave a score (by message or on the answer page)
     ├── PlaybookActivated        a playbook version went live (saved, activated, rolled back)
     ├── ChannelCreated           an admin connected a channel
     ├── ChannelUpdated           an admin changed its settings (names only) or switched it off/on
     ├── AgentCreated             an admin added a user
     ├── TokenCreated / TokenRevoked
     ├── ReviewSubmitted          a supervisor scored a closed conversation on the rubric
     ├── ListeningQueryChanged    a supervisor created, changed, switched off or deleted a query
     ├── SpikeAlerted             the spike job opened or closed an alert
     └── SettingsChanged          someone changed the set-up: a template, SLA calendar or policy,
                                  a team's routing, capacity, presence, rubric, playbook draft,
                                  a password or sessions (before/after values; secrets never)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

_ENVELOPE = ("occurred_at", "actor_agent_id", "conversation_id")


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    occurred_at: datetime
    actor_agent_id: int | None = None
    conversation_id: int | None = None

    name: ClassVar[str] = "event"

    def payload(self) -> dict[str, Any]:
        """The event's own facts, without the envelope fields (values are flat: no deep copy)."""
        return {name: _jsonable(getattr(self, name)) for name in _own_fields(type(self))}


_FIELDS: dict[type[Event], tuple[str, ...]] = {}


def _own_fields(kind: type[Event]) -> tuple[str, ...]:
    found = _FIELDS.get(kind)
    if found is None:
        found = _FIELDS[kind] = tuple(f.name for f in fields(kind) if f.name not in _ENVELOPE)
    return found


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived(Event):
    name: ClassVar[str] = "message_received"
    message_id: int
    channel_id: int
    direction: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageTriaged(Event):
    name: ClassVar[str] = "message_triaged"
    message_id: int
    priority: int
    sentiment: str
    intent: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationOpened(Event):
    name: ClassVar[str] = "conversation_opened"
    channel_id: int
    customer_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationReopened(Event):
    name: ClassVar[str] = "conversation_reopened"
    by_customer: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyQueued(Event):
    name: ClassVar[str] = "reply_queued"
    message_id: int
    visibility: str
    idempotency_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplySent(Event):
    name: ClassVar[str] = "reply_sent"
    message_id: int
    platform_message_id: str
    attempts: int
    reconciled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyFailed(Event):
    name: ClassVar[str] = "reply_failed"
    message_id: int
    error: str
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyRetried(Event):
    name: ClassVar[str] = "reply_retried"
    message_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteAdded(Event):
    name: ClassVar[str] = "note_added"
    message_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationAssigned(Event):
    name: ClassVar[str] = "conversation_assigned"
    assignee_before: int | None
    assignee_after: int | None
    team_before: int | None
    team_after: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationTagged(Event):
    name: ClassVar[str] = "conversation_tagged"
    added: list[str]
    removed: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerTagged(Event):
    name: ClassVar[str] = "customer_tagged"
    customer_id: int
    added: list[str]
    removed: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationSnoozed(Event):
    name: ClassVar[str] = "conversation_snoozed"
    until: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationWoken(Event):
    name: ClassVar[str] = "conversation_woken"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationClosed(Event):
    name: ClassVar[str] = "conversation_closed"
    reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelCreated(Event):
    name: ClassVar[str] = "channel_created"
    channel_id: int
    platform: str
    channel_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaWarning(Event):
    name: ClassVar[str] = "sla_warning"
    due_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaBreached(Event):
    name: ClassVar[str] = "sla_breached"
    due_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybookMatched(Event):
    name: ClassVar[str] = "playbook_matched"
    message_id: int
    version: int
    rules: list[str]
    actions: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationSuppressed(Event):
    name: ClassVar[str] = "conversation_suppressed"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybookActivated(Event):
    name: ClassVar[str] = "playbook_activated"
    version: int
    previous: int | None
    comment: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelUpdated(Event):
    name: ClassVar[str] = "channel_updated"
    channel_id: int
    settings_changed: list[str]
    active: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentCreated(Event):
    name: ClassVar[str] = "agent_created"
    agent_id: int
    username: str
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamCreated(Event):
    name: ClassVar[str] = "team_created"
    team_id: int
    team_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenCreated(Event):
    name: ClassVar[str] = "token_created"
    token_id: int
    agent_id: int
    token_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRevoked(Event):
    name: ClassVar[str] = "token_revoked"
    token_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewSubmitted(Event):
    name: ClassVar[str] = "review_submitted"
    review_id: int
    agent_id: int | None  # whose work was reviewed
    rubric_id: int
    score: int
    sampled_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListeningQueryChanged(Event):
    name: ClassVar[str] = "listening_query_changed"
    query_id: int
    query_name: str
    change: str  # created | updated | deleted
    query: str | None = None  # the text (None when deleted)
    active: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikeAlerted(Event):
    name: ClassVar[str] = "spike_alerted"
    alert_id: int
    subject_kind: str
    subject: str
    change: str  # opened | closed


@dataclass(frozen=True, slots=True, kw_only=True)
class SurveySent(Event):
    name: ClassVar[str] = "survey_sent"
    survey_id: int
    kind: str
    message_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SurveyAnswered(Event):
    name: ClassVar[str] = "survey_answered"
    survey_id: int
    kind: str
    score: int
    via: str
    message_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsChanged(Event):
    """A change to the desk's set-up that has no event of its own, for the audit log: what
    (`subject` and its name or id), how, and the values before and after (None for a creation or
    a deletion, and for values that must not be kept, such as a password)."""

    name: ClassVar[str] = "settings_changed"
    subject: str
    subject_id: str
    change: Literal["created", "updated", "deleted"]
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


# Kept by every record itself; noise in an audit entry's before/after.
_BOOKKEEPING = frozenset({"id", "created_at", "updated_at", "updated_by"})


def audit_values(record: object) -> dict[str, Any]:
    """A set-up record's values as an audit entry keeps them (without its id and times)."""
    assert is_dataclass(record)
    assert not isinstance(record, type)
    return {k: _jsonable(v) for k, v in asdict(record).items() if k not in _BOOKKEEPING}


def settings_changed(
    *,
    now: datetime,
    actor_id: int | None,
    subject: str,
    subject_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> SettingsChanged:
    """The event for a change from `before` to `after` (None: did not exist / no longer does)."""
    change: Literal["created", "updated", "deleted"] = (
        "created" if before is None else "deleted" if after is None else "updated"
    )
    return SettingsChanged(
        occurred_at=now,
        actor_agent_id=actor_id,
        subject=subject,
        subject_id=str(subject_id),
        change=change,
        before=before,
        after=after,
    )


def event_names() -> frozenset[str]:
    """Every event type's name (what the audit log can be filtered by)."""
    return frozenset(kind.name for kind in Event.__subclasses__())
