"""Request bodies of the REST API, validated strictly (unknown fields are refused).

Every string is checked for what would break later (lone surrogates, NUL, size) so that a bad item
is refused here, naming its field, and never half-stored.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from socialdesk.domain.agents import Role
from socialdesk.domain.conversations import Status
from socialdesk.domain.messages import (
    Author,
    Direction,
    MessageKind,
    NormalisedMessage,
    Visibility,
)
from socialdesk.domain.text import text_problem

MAX_JSON_DEPTH = 20
MAX_META_BYTES = 16 * 1024


def _check_text(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _check_json(value: Any) -> Any:
    _walk(value, 0)
    return value


def _walk(value: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _walk(item, depth + 1)


Text = Annotated[str, AfterValidator(_check_text)]
Short = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_check_text)]
Name = Annotated[str, Field(max_length=200), AfterValidator(_check_text)]
JsonValue = Annotated[Any, AfterValidator(_check_json)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class AuthorIn(Strict):
    """A platform account: `external_id` is the platform's stable id (user id, address, number)."""

    external_id: Annotated[str, Field(min_length=1, max_length=320), AfterValidator(_check_text)]
    handle: Name | None = None
    name: Name | None = None
    followers: Annotated[int, Field(ge=0, le=10**12)] | None = None
    verified: bool | None = None
    email: Name | None = None

    def to_domain(self) -> Author:
        return Author(
            external_id=self.external_id,
            handle=self.handle,
            name=self.name,
            followers=self.followers,
            verified=self.verified,
            email=self.email,
        )


class MessageIn(Strict):
    """One normalised message from any platform (social post, DM, e-mail, chat, call record)."""

    channel_id: int = Field(description="the channel (connected account) it arrived on")
    external_id: Short = Field(description="the platform's id; unique per channel")
    text: Text = Field("", description="the message text, at most 64 KiB of UTF-8")
    created_at: AwareDatetime | None = Field(
        None, description="when it was written on the platform, with a time zone; default now"
    )
    direction: Literal["inbound", "outbound"] = Field(
        "inbound", description="inbound from a customer, or outbound from the brand"
    )
    kind: MessageKind = MessageKind.POST
    visibility: Visibility | None = Field(
        None, description="public or private; by default posts are public, DMs private"
    )
    author: AuthorIn | None = Field(None, description="who wrote it (required for inbound)")
    recipient: AuthorIn | None = Field(
        None, description="outbound only: the customer addressed, when there is no in_reply_to"
    )
    in_reply_to: Short | None = Field(None, description="external id of the message it answers")
    references: Annotated[list[Short], Field(max_length=100)] = Field(
        default_factory=list, description="e-mail References header ids, oldest first"
    )
    thread_key: Short | None = Field(None, description="the platform's conversation id, if any")
    subject: Annotated[str, Field(max_length=500), AfterValidator(_check_text)] | None = None
    url: Annotated[str, Field(max_length=2000, pattern=r"^https?://\S+$")] | None = None
    meta: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="platform facts (call duration, disposition, ...); at most 16 KiB",
    )
    raw: JsonValue = Field(
        None,
        description="the platform payload as received, kept verbatim in the raw event log "
        "(default: the message as given here)",
    )

    @model_validator(mode="after")
    def _parties(self) -> MessageIn:
        if self.direction == "inbound" and self.author is None:
            raise ValueError("an inbound message needs its author")
        if self.kind is MessageKind.NOTE:
            raise ValueError("notes are written on a conversation, not ingested")
        if len(json.dumps(self.meta, ensure_ascii=False).encode()) > MAX_META_BYTES:
            raise ValueError(f"meta is larger than {MAX_META_BYTES} bytes")
        return self

    def to_domain(self) -> NormalisedMessage:
        return NormalisedMessage(
            channel_id=self.channel_id,
            external_id=self.external_id,
            text=self.text,
            created_at=self.created_at,
            direction=Direction(self.direction),
            kind=self.kind,
            visibility=self.visibility,
            author=self.author.to_domain() if self.author else None,
            recipient=self.recipient.to_domain() if self.recipient else None,
            in_reply_to=self.in_reply_to,
            references=tuple(self.references),
            thread_key=self.thread_key,
            subject=self.subject,
            url=self.url,
            meta=self.meta,
            raw=self.raw,
        )


class MessageBatchIn(Strict):
    messages: Annotated[list[MessageIn], Field(min_length=1, max_length=1000)]


class ReplyIn(Strict):
    text: Text
    visibility: Visibility | None = Field(
        None, description="public or private; default: the conversation's own visibility"
    )
    status_after: Literal["open", "pending", "closed"] = Field(
        "pending", description="the conversation's status once the reply is queued"
    )
    idempotency_key: Annotated[str, Field(min_length=8, max_length=200)] | None = Field(
        None, description="repeat a request with the same key and get the same reply, once"
    )
    in_reply_to_message_id: int | None = Field(
        None, description="the customer message answered; default: their latest in the conversation"
    )
    seen_up_to: AwareDatetime | None = Field(
        None,
        description="the newest message time on your screen: a reply someone else sent after it "
        "is a collision, refused with 409 unless `force`",
    )
    force: bool = Field(False, description="send even though someone else replied meanwhile")

    @property
    def status(self) -> Status:
        return Status(self.status_after)


class NoteIn(Strict):
    text: Text


class AssignIn(Strict):
    """Omit a field to keep it; send null to clear it."""

    assignee_id: int | None = None
    team_id: int | None = None


class TagsIn(Strict):
    add: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=50)] = []
    remove: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=50)] = []


class SnoozeIn(Strict):
    until: AwareDatetime


class CloseIn(Strict):
    reason: Annotated[str, Field(max_length=500), AfterValidator(_check_text)] | None = None


class ChannelIn(Strict):
    platform: Annotated[str, Field(min_length=1, max_length=32)]
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_check_text)]
    settings: dict[str, Annotated[str, Field(max_length=4000)]] = Field(
        default_factory=dict,
        description="platform settings and credentials; secrets are never shown again",
    )


class ChannelUpdateIn(Strict):
    settings: dict[str, Annotated[str, Field(max_length=4000)]] = Field(
        default_factory=dict,
        description="settings to set; an empty string removes one (rotate or drop a credential)",
    )
    active: bool | None = Field(None, description="false stops its webhooks and polling")


class ConnectorOut(Strict):
    name: str
    platforms: list[dict[str, Any]]
    features: list[str]
    settings: dict[str, str]
    webhook_path: str | None


class UserIn(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    role: Role = Role.AGENT
    password: Annotated[str, Field(min_length=10, max_length=200)] | None = None
    display_name: Name | None = None
    email: Name | None = None
    teams: list[Annotated[str, Field(max_length=100)]] = []


class TeamIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_check_text)]


class TokenIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)] = "api"
    username: str | None = Field(None, description="admins may create tokens for other users")
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class IngestOut(BaseModel):
    message_id: int
    conversation_id: int
    created: bool = Field(description="false when the message was stored before (a redelivery)")


class BatchOut(BaseModel):
    results: list[IngestOut]
    created: int
    duplicates: int
    new_conversations: int


class TokenOut(BaseModel):
    id: int
    name: str
    username: str
    token: str = Field(description="shown only now; store it safely")
    created_at: datetime
    expires_at: datetime | None


# -- playbook, templates, SLA, routing ----------------------------------------------------------


class PlaybookIn(Strict):
    source: Annotated[str, Field(min_length=1, max_length=512 * 1024)] = Field(
        description="the playbook file (YAML)"
    )
    comment: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="what changed and why (kept with the version)"
    )
    activate: bool = Field(True, description="make it live at once")


class PlaybookSourceIn(Strict):
    source: Annotated[str, Field(min_length=1, max_length=512 * 1024)]


class BacktestIn(Strict):
    source: Annotated[str, Field(min_length=1, max_length=512 * 1024)] = Field(
        description="the candidate playbook; it is compared with the live one"
    )
    since: datetime | None = Field(None, description="replay messages from this time on")


class PlaybookVersionOut(Strict):
    version: int
    comment: str
    author: str | None
    created_at: datetime
    live: bool
    activated_at: datetime | None
    source: str | None = None
    diff: str | None = Field(None, description="unified diff against the previous version")


class TemplateIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    body: Annotated[str, Field(min_length=1, max_length=10_000)]


class TemplateBodyIn(Strict):
    body: Annotated[str, Field(min_length=1, max_length=10_000)]


class RenderedOut(Strict):
    template: str
    text: str
    length: int
    max_length: int | None
    fits: bool


class CalendarIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="IANA time zone, e.g. Europe/Berlin"
    )
    weekly: dict[str, str | list[str]] = Field(
        description='opening hours, e.g. {"mon-fri": "08:00-18:00", "sat": "09:00-13:00"}'
    )
    holiday_country: Annotated[str, Field(min_length=2, max_length=8)] | None = None
    holiday_subdivision: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    extra_holidays: list[str] = Field(default_factory=list, description="ISO dates, closed")


class SlaPolicyIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    targets: list[dict[str, Any]] = Field(
        description='minutes per target, e.g. [{"first_response": 60, "resolution": 1440}, '
        '{"priority_min": 70, "first_response": 15}, {"platform": "x", "first_response": 30}]'
    )
    calendar: str | None = Field(
        None,
        description="a calendar's name; none: the team's calendar, else the one named "
        "`default`, else around the clock",
    )
    pause_when_pending: bool = True
    warn_before_minutes: Annotated[int, Field(ge=0, le=10080)] = 15


class TeamRoutingIn(Strict):
    skills: dict[str, list[str]] | None = Field(
        None, description='{"languages": ["en"], "platforms": ["x"], "intents": ["billing"]}'
    )
    assignment_mode: Literal["round_robin", "least_loaded", "manual"] | None = None
    calendar: str | None = Field(None, description='a calendar name; "" clears it')
    sla_policy: str | None = Field(None, description='an SLA policy name; "" clears it')


class CapacityIn(Strict):
    capacity: dict[str, Annotated[int, Field(ge=0, le=1000)]] = Field(
        description='open conversations at once per platform, "*" for any other, e.g. '
        '{"x": 5, "email": 10, "*": 3}'
    )


class PresenceIn(Strict):
    presence: Literal["online", "away", "offline"]


class PresenceOut(Strict):
    presence: str
    reassigned: int = Field(description="conversations handed on because you went offline")


class ActivityIn(Strict):
    kind: Literal["viewing", "typing"]
    seen_up_to: AwareDatetime | None = Field(
        None, description="the newest message time on your screen (for collision checks)"
    )


class ActivityOut(Strict):
    agent_id: int
    kind: str
    at: datetime


class CriterionIn(Strict):
    key: str = Field(description="1-32 lower-case letters, digits or _, e.g. brand_voice")
    label: str
    weight: float = Field(1, description="above 0; criteria count in proportion to it")
    max: int = Field(description="the most points it gives, 1-10")


class RubricIn(Strict):
    criteria: list[CriterionIn] = Field(description="1-12 criteria with distinct keys")


class RubricOut(Strict):
    id: int | None = Field(description="null: the default rubric, not saved yet")
    created_at: datetime | None
    author_id: int | None
    criteria: list[CriterionIn]


class ReviewIn(Strict):
    conversation_id: int
    scores: dict[str, JsonValue] = Field(
        description='points per criterion key: a whole number 0..max, or "n/a" (or null) '
        "where it does not apply; every criterion of the rubric in force"
    )
    comment: str = Field("", description="at most 5000 characters")
    sampled_by: str = Field(
        "chosen", description="how it was picked: random, agent, low_csat or chosen"
    )
    rubric_id: int | None = Field(
        None, description="the rubric the form was drawn with; refused (409) if it changed"
    )


class ListeningQueryIn(Strict):
    name: str = Field(description="unique in any case; what playbook rules and alerts call it")
    query: str = Field(
        description='boolean query, e.g. ("acme bank" OR @acmebank) AND (outage OR down) -lang:de'
    )
    active: bool = Field(True, description="false: kept, but not matched against new posts")


class ListeningQueryUpdate(Strict):
    name: str | None = None
    query: str | None = None
    active: bool | None = None
