"""The database schema as SQLAlchemy Core tables, the same on SQLite and PostgreSQL.

Enums are short strings, timestamps are UTC (aware in Python on both engines), ids are 64-bit.
Indexes follow the queue queries in `queries/inbox.py`: every sort (priority, waiting time, SLA due
time, latest activity) has an index led by status, and the usual filters (team, assignee, channel,
platform) have their own, so the first page of a queue is an index range scan, not a sort.
Full-text search objects (FTS5 / tsvector) are created by the migration, not here: they differ
per engine.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from socialdesk.domain.rollups import HISTOGRAMS as ROLLUP_HISTOGRAMS
from socialdesk.domain.rollups import MEASURES as ROLLUP_MEASURES

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")
# For columns that may be empty: Python None is stored as SQL NULL (not the JSON text "null"), so
# `IS NULL` finds it (the triage queue depends on that).
NullableJson = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on both engines.

    SQLite has no time zones: values are stored as naive UTC text and made aware again on the way
    out. A naive datetime is refused outright, because guessing its zone is how times go wrong.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the desk stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id() -> Column[Any]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _ref(name: str, target: str, *, nullable: bool = True) -> Column[Any]:
    return Column(name, Id, ForeignKey(f"{target}.id"), nullable=nullable)


channels = Table(
    "channels",
    metadata,
    _id(),
    Column("platform", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("settings", Json, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("platform", "name"),
)

customers = Table(
    "customers",
    metadata,
    _id(),
    Column("name", String(200)),
    Column("tags", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

identities = Table(
    "identities",
    metadata,
    _id(),
    _ref("customer_id", "customers", nullable=False),
    Column("platform", String(32), nullable=False),
    Column("external_id", String(320), nullable=False),
    Column("handle", String(200)),
    Column("display_name", String(200)),
    Column("followers", BigInteger),
    Column("verified", Boolean, nullable=False, default=False),
    Column("profile", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("platform", "external_id"),
    Index("ix_identities_customer_id", "customer_id"),
)

teams = Table(
    "teams",
    metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    # Routing: what the team covers, how it hands out work, its hours and default SLA.
    Column("skills", Json, nullable=False, default=dict),
    Column("assignment_mode", String(16), nullable=False, default="round_robin"),
    # Plain ids, not foreign keys: SQLite cannot add or drop a constrained column in place
    # (migration 0004); the services check that the calendar and policy exist.
    Column("calendar_id", Id),
    Column("sla_policy_id", Id),
    Column("last_assigned_agent_id", BigInteger),
)

agents = Table(
    "agents",
    metadata,
    _id(),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200)),
    Column("email", String(320)),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200)),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("capacity", Json, nullable=False, default=dict),
    Column("presence", String(16), nullable=False, default="offline"),
    Column("presence_at", UtcDateTime),
    Column("last_assigned_at", UtcDateTime),
    Column("session_epoch", Integer, nullable=False, default=0, server_default="0"),
)

team_members = Table(
    "team_members",
    metadata,
    _ref("team_id", "teams", nullable=False),
    _ref("agent_id", "agents", nullable=False),
    PrimaryKeyConstraint("team_id", "agent_id"),
    Index("ix_team_members_agent_id", "agent_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _id(),
    _ref("agent_id", "agents", nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
    Index("ix_api_tokens_agent_id", "agent_id"),
)

conversations = Table(
    "conversations",
    metadata,
    _id(),
    _ref("channel_id", "channels", nullable=False),
    Column("platform", String(32), nullable=False),
    _ref("customer_id", "customers", nullable=False),
    _ref("identity_id", "identities"),
    Column("visibility", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("thread_key", String(255)),
    Column("subject", String(500)),
    Column("priority", Integer, nullable=False, default=0),
    Column("sentiment", String(16)),
    _ref("team_id", "teams"),
    _ref("assignee_id", "agents"),
    Column("snoozed_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("last_message_at", UtcDateTime),
    Column("last_inbound_at", UtcDateTime),
    Column("waiting_since", UtcDateTime),
    Column("first_response_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("close_reason", String(500)),
    Column("sla_due_at", UtcDateTime),
    Column("message_count", Integer, nullable=False, default=0),
    Column("preview", String(200), nullable=False, default=""),
    Column("intent", String(64)),
    Column("language", String(8)),
    Column("priority_basis", NullableJson),
    Column("priority_factors", NullableJson),
    Column("priority_scored_at", UtcDateTime),
    # SLA: the policy, each due time, the state, and the time spent pending (the clock's pauses).
    Column("sla_policy_id", Id),  # not a foreign key, as teams.sla_policy_id
    Column("first_response_due_at", UtcDateTime),
    Column("next_response_due_at", UtcDateTime),
    Column("resolution_due_at", UtcDateTime),
    Column("sla_state", String(16)),
    Column("sla_paused_seconds", Integer, nullable=False, default=0),
    Column("pending_since", UtcDateTime),
    Column("pending_periods", Json, nullable=False, default=list),
    Column("sla_refreshed_at", UtcDateTime),
    # Playbook outcomes that stay with the conversation.
    Column("priority_rule", NullableJson),
    Column("suppressed_reason", String(200)),
    Column("private_mode", String(16)),
    Column("auto_acked_at", UtcDateTime),
)
_c = conversations.c
Index("ix_conversations_queue_priority", _c.status, _c.priority.desc(), _c.id)
Index("ix_conversations_queue_waiting", _c.status, _c.waiting_since, _c.id)
Index("ix_conversations_queue_sla", _c.status, _c.sla_due_at, _c.id)
Index("ix_conversations_queue_recent", _c.status, _c.last_message_at, _c.id)
Index("ix_conversations_team_queue", _c.team_id, _c.status, _c.priority.desc(), _c.id)
Index("ix_conversations_assignee_queue", _c.assignee_id, _c.status, _c.priority.desc(), _c.id)
Index("ix_conversations_channel_queue", _c.channel_id, _c.status, _c.priority.desc(), _c.id)
Index("ix_conversations_platform_queue", _c.platform, _c.status, _c.priority.desc(), _c.id)
Index("ix_conversations_thread", _c.channel_id, _c.thread_key, _c.id)
Index("ix_conversations_customer", _c.customer_id, _c.created_at)
Index("ix_conversations_snoozed", _c.status, _c.snoozed_until)
Index("ix_conversations_rescore", _c.status, _c.priority_scored_at)
Index("ix_conversations_sla_sweep", _c.sla_refreshed_at, _c.updated_at)
# The workspace's view counts read this index alone (no table rows) for the open queue.
Index("ix_conversations_view_counts", _c.status, _c.assignee_id, _c.team_id, _c.sla_state)
# QA sampling: closed conversations by when they were closed.
Index("ix_conversations_closed", _c.status, _c.closed_at)

conversation_tags = Table(
    "conversation_tags",
    metadata,
    _ref("conversation_id", "conversations", nullable=False),
    Column("tag", String(50), nullable=False),
    PrimaryKeyConstraint("conversation_id", "tag"),
    Index("ix_conversation_tags_tag", "tag", "conversation_id"),
)

raw_events = Table(
    "raw_events",
    metadata,
    _id(),
    _ref("channel_id", "channels"),
    Column("source", String(32), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("payload", Json, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    _id(),
    _ref("conversation_id", "conversations", nullable=False),
    _ref("channel_id", "channels", nullable=False),
    Column("external_id", String(255)),
    Column("direction", String(16), nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    _ref("author_identity_id", "identities"),
    _ref("author_agent_id", "agents"),
    Column("text", Text, nullable=False),
    Column("subject", String(500)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("in_reply_to", String(255)),
    Column("references", Json, nullable=False),
    Column("url", String(2000)),
    Column("meta", Json, nullable=False),
    Column("delivery_state", String(16)),
    Column("delivery_error", Text),
    _ref("raw_event_id", "raw_events"),
    Column("triage", NullableJson),
    Column("triage_claimed_at", UtcDateTime),
    Column("playbook", NullableJson),
    Column("playbook_claimed_at", UtcDateTime),
    UniqueConstraint("channel_id", "external_id"),
    Index("ix_messages_conversation", "conversation_id", "created_at", "id"),
    Index("ix_messages_author_identity_id", "author_identity_id"),
)
# The playbook queue: triaged inbound messages the playbook has not seen yet.
Index(
    "ix_messages_unplayed",
    messages.c.id,
    sqlite_where=(messages.c.playbook.is_(None))
    & (messages.c.triage.is_not(None))
    & (messages.c.direction == "inbound"),
    postgresql_where=(messages.c.playbook.is_(None))
    & (messages.c.triage.is_not(None))
    & (messages.c.direction == "inbound"),
)
# Public posts by time: the spike job's hourly counts for the brand and each intent.
Index(
    "ix_messages_public_inbound",
    messages.c.created_at,
    sqlite_where=(messages.c.direction == "inbound") & (messages.c.visibility == "public"),
    postgresql_where=(messages.c.direction == "inbound") & (messages.c.visibility == "public"),
)
# The triage queue: inbound messages not triaged yet. Partial, so it stays as small as the queue.
Index(
    "ix_messages_untriaged",
    messages.c.id,
    sqlite_where=(messages.c.triage.is_(None)) & (messages.c.direction == "inbound"),
    postgresql_where=(messages.c.triage.is_(None)) & (messages.c.direction == "inbound"),
)

outbox = Table(
    "outbox",
    metadata,
    _id(),
    _ref("message_id", "messages", nullable=False),
    _ref("conversation_id", "conversations", nullable=False),
    _ref("channel_id", "channels", nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime),
    Column("last_error", Text),
    Column("platform_message_id", String(255)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("claimed_at", UtcDateTime),
    Column("in_doubt", Boolean, nullable=False, default=False),
    Column("sent_at", UtcDateTime),
    UniqueConstraint("message_id"),
    Index("ix_outbox_due", "state", "next_attempt_at"),
    Index("ix_outbox_claimed", "state", "claimed_at"),
)

# Where each polled channel stands (X since ids, IMAP UIDVALIDITY/UID), claimed like a job.
channel_polls = Table(
    "channel_polls",
    metadata,
    _ref("channel_id", "channels", nullable=False),
    Column("cursor", Json, nullable=False),
    Column("next_poll_at", UtcDateTime),
    Column("claimed_at", UtcDateTime),
    Column("last_polled_at", UtcDateTime),
    Column("last_error", Text),
    Column("consecutive_errors", Integer, nullable=False, default=0),
    Column("polled_messages", BigInteger, nullable=False, default=0),
    PrimaryKeyConstraint("channel_id"),
    Index("ix_channel_polls_due", "next_poll_at"),
)

# Signed webhook deliveries that could not be read, kept verbatim for an admin to replay.
quarantine = Table(
    "quarantine",
    metadata,
    _id(),
    _ref("channel_id", "channels"),
    Column("connector", String(32), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("headers", Json, nullable=False),
    Column("query", Json, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("replayed_at", UtcDateTime),
    Column("replay_result", Text),
    Index("ix_quarantine_received", "received_at"),
)

# Business hours: weekly opening times in a time zone, and the days it is closed.
calendars = Table(
    "calendars",
    metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("timezone", String(64), nullable=False),
    Column("weekly", Json, nullable=False),
    Column("holiday_country", String(8)),
    Column("holiday_subdivision", String(16)),
    Column("extra_holidays", Json, nullable=False, default=list),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

sla_policies = Table(
    "sla_policies",
    metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("targets", Json, nullable=False),
    _ref("calendar_id", "calendars"),
    Column("pause_when_pending", Boolean, nullable=False, default=True),
    Column("warn_before_minutes", Integer, nullable=False, default=15),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

templates = Table(
    "templates",
    metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    _ref("updated_by", "agents"),
)

# Every saved playbook; exactly one is live (a partial unique index keeps it so).
playbook_versions = Table(
    "playbook_versions",
    metadata,
    _id(),
    Column("version", Integer, nullable=False, unique=True),
    Column("source", Text, nullable=False),
    Column("comment", String(500), nullable=False),
    _ref("author_agent_id", "agents"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("live", Boolean, nullable=False, default=False),
    Column("activated_at", UtcDateTime),
)
Index(
    "ix_playbook_versions_live",
    playbook_versions.c.live,
    unique=True,
    sqlite_where=playbook_versions.c.live.is_(True),
    postgresql_where=playbook_versions.c.live.is_(True),
)

# Escalations (a playbook's notify, SLA warnings) waiting to be sent by webhook or e-mail.
notifications = Table(
    "notifications",
    metadata,
    _id(),
    Column("kind", String(16), nullable=False),
    Column("target", String(100), nullable=False),
    Column("destination", String(2000), nullable=False),
    Column("payload", Json, nullable=False),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime),
    Column("last_error", Text),
    _ref("conversation_id", "conversations"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Index("ix_notifications_due", "state", "next_attempt_at"),
)

# Who is looking at or typing in a conversation right now (rows expire by time).
activities = Table(
    "activities",
    metadata,
    _ref("conversation_id", "conversations", nullable=False),
    _ref("agent_id", "agents", nullable=False),
    Column("kind", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("seen_up_to", UtcDateTime),
    PrimaryKeyConstraint("conversation_id", "agent_id"),
)

# An agent's saved inbox filters ("my billing backlog"), by name.
saved_views = Table(
    "saved_views",
    metadata,
    _id(),
    _ref("agent_id", "agents", nullable=False),
    Column("name", String(100), nullable=False),
    Column("query", String(2000), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("agent_id", "name"),
)

# What an agent must see: an @mention in a note, a follow-up reminder that came due.
agent_notices = Table(
    "agent_notices",
    metadata,
    _id(),
    _ref("agent_id", "agents", nullable=False),
    Column("kind", String(16), nullable=False),
    _ref("conversation_id", "conversations", nullable=False),
    _ref("message_id", "messages"),
    Column("text", String(500), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime),
    Index("ix_agent_notices_inbox", "agent_id", "read_at", "due_at"),
)

events = Table(
    "events",
    metadata,
    _id(),
    Column("type", String(64), nullable=False),
    _ref("conversation_id", "conversations"),
    _ref("actor_agent_id", "agents"),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("data", Json, nullable=False),
    Index("ix_events_conversation", "conversation_id", "id"),
)
# The audit log: the events people caused (the system's own, most of the table, left out),
# newest first.
Index(
    "ix_events_audit",
    events.c.id,
    sqlite_where=events.c.actor_agent_id.is_not(None),
    postgresql_where=events.c.actor_agent_id.is_not(None),
)


# -- Reporting: facts written by the reporting job from the permanent record (docs/metrics.md) ----

# One row per customer message and per brand reply, with the dimensions it is reported by.
report_messages = Table(
    "report_messages",
    metadata,
    _ref("message_id", "messages", nullable=False),
    _ref("conversation_id", "conversations", nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("direction", String(16), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("channel_id", Id, nullable=False),
    Column("team_id", Id),
    Column("agent_id", Id),
    Column("intent", String(64)),
    Column("sentiment", String(16)),
    Column("needs_response", Boolean, nullable=False, default=False),
    Column("suppressed", Boolean, nullable=False, default=False),
    Column("engaged", Boolean, nullable=False, default=False),  # after the brand's first reply
    Column("auto_ack", Boolean, nullable=False, default=False),
    Column("responded_at", UtcDateTime),
    Column("response_kind", String(8)),  # first | next: the reply answered a waiting customer
    Column("response_seconds", Integer),
    Column("response_business_seconds", Integer),
    Column("sla_met", Boolean),
    PrimaryKeyConstraint("message_id"),
    Index("ix_report_messages_at", "at", "direction"),
    Index("ix_report_messages_conversation", "conversation_id", "at"),
    Index("ix_report_messages_responses", "response_kind", "at"),
)

# One row per conversation: how it began, when the brand engaged, how it felt before and after,
# how it ended.
report_conversations = Table(
    "report_conversations",
    metadata,
    _ref("conversation_id", "conversations", nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("platform", String(32), nullable=False),
    Column("channel_id", Id, nullable=False),
    Column("team_id", Id),
    Column("agent_id", Id),
    Column("intent", String(64)),
    Column("sentiment_before", String(16)),  # the last customer message before the first reply
    Column("sentiment_after", String(16)),  # the last customer message after it
    Column("engaged_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("resolution_seconds", Integer),
    Column("resolution_business_seconds", Integer),
    Column("suppressed", Boolean, nullable=False, default=False),
    Column("tags", Json, nullable=False, default=list),  # as counted in the rollups
    PrimaryKeyConstraint("conversation_id"),
    Index("ix_report_conversations_opened", "opened_at"),
    Index("ix_report_conversations_engaged", "engaged_at"),
    Index("ix_report_conversations_closed", "closed_at"),
)

SCOPE_INDEX = (
    "ix_report_hours_scope",
    *("dimension", "value", "span", "hour", "platform"),
    *("inbound", "outbound", "negative", "opened", "closed", "first_responses", "next_responses"),
)
# The facts summed per UTC hour and per UTC day, one dimension at a time and split by platform
# (domain/rollups.py): `all`, channel, team, agent, intent, tag. The `hist_*` columns hold the
# duration histograms ({"41": count}: bucket 41), one per duration and clock.
report_hours = Table(
    "report_hours",
    metadata,
    Column("key", String(160), primary_key=True),
    Column("hour", UtcDateTime, nullable=False),
    Column("dimension", String(16), nullable=False),
    Column("value", String(100), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("span", String(1), nullable=False),  # h: an hour, d: a UTC day
    *(Column(name, Integer, nullable=False, default=0) for name in ROLLUP_MEASURES),
    *(Column(f"hist_{name}", Json, nullable=False, default=dict) for name in ROLLUP_HISTOGRAMS),
    # Covering the time series, the backlog's starting point (every hour before a range) and the
    # counts that choose exact durations or histograms (queries/analytics.py).
    Index(*SCOPE_INDEX),
)

# How far each reporting job has read (messages by id, events by id).
report_cursors = Table(
    "report_cursors",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_id", Id, nullable=False, default=0),
)

# CSAT (1-5) and NPS (0-10) questions asked after a close, and their answers.
surveys = Table(
    "surveys",
    metadata,
    _id(),
    _ref("conversation_id", "conversations", nullable=False),
    Column("kind", String(8), nullable=False),
    Column("channel_id", Id, nullable=False),
    Column("platform", String(32), nullable=False),
    Column("team_id", Id),
    Column("agent_id", Id),
    _ref("question_message_id", "messages"),
    Column("token_hash", String(64), nullable=False, unique=True),  # the answer link's token
    Column("asked_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("score", Integer),
    Column("answered_at", UtcDateTime),
    Column("answered_via", String(16)),  # message | link
    _ref("answer_message_id", "messages"),
    Index("ix_surveys_conversation", "conversation_id", "asked_at"),
    Index("ix_surveys_answered", "answered_at"),
    Index("ix_surveys_asked", "asked_at"),
)

# QA: the rubric supervisors score against (versions; the newest is used) and the reviews.
review_rubrics = Table(
    "review_rubrics",
    metadata,
    _id(),
    Column("criteria", Json, nullable=False),  # [{"key", "label", "weight", "max"}]
    Column("created_at", UtcDateTime, nullable=False),
    _ref("author_id", "agents"),
)

reviews = Table(
    "reviews",
    metadata,
    _id(),
    _ref("conversation_id", "conversations", nullable=False),
    _ref("agent_id", "agents"),  # whose work was reviewed
    _ref("reviewer_id", "agents", nullable=False),
    _ref("rubric_id", "review_rubrics", nullable=False),
    Column("scores", Json, nullable=False),  # {criterion key: points}
    Column("score", Integer, nullable=False),  # 0-100, weighted
    Column("comment", Text, nullable=False, default=""),
    Column("sampled_by", String(32)),  # random | agent | low_csat | chosen
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_reviews_agent", "agent_id", "created_at"),
    Index("ix_reviews_created", "created_at"),
    UniqueConstraint("conversation_id", "reviewer_id"),  # one review per reviewer
)

# Listening: boolean queries over public posts, what they matched, and spike alerts.
listening_queries = Table(
    "listening_queries",
    metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("query", String(2000), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    _ref("author_id", "agents"),
)

listening_matches = Table(
    "listening_matches",
    metadata,
    _ref("query_id", "listening_queries", nullable=False),
    _ref("message_id", "messages", nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("negative", Boolean, nullable=False, default=False),
    PrimaryKeyConstraint("query_id", "message_id"),
    Index("ix_listening_matches_at", "query_id", "at"),
)

# Public inbound posts per UTC hour and intent, counted when triage stores them: the spike job's
# baseline for the brand and each intent, read without scanning the messages.
post_hours = Table(
    "post_hours",
    metadata,
    Column("hour", UtcDateTime, nullable=False),
    Column("intent", String(64), nullable=False),  # '' when triage gave none
    Column("posts", Integer, nullable=False),
    Column("negative", Integer, nullable=False),
    PrimaryKeyConstraint("hour", "intent"),
)

alerts = Table(
    "alerts",
    metadata,
    _id(),
    Column("subject_kind", String(16), nullable=False),  # brand | query | intent
    Column("subject", String(100), nullable=False),
    Column("kinds", Json, nullable=False),  # ["volume", "negative_share"]
    Column("summary", String(500), nullable=False),
    Column("details", Json, nullable=False),  # observed, expected, z, ratio, shares, samples
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("state", Json, nullable=False),  # the detector's state between checks
    Index("ix_alerts_subject", "subject_kind", "subject", "opened_at"),
    Index("ix_alerts_opened", "opened_at"),
)


def include_in_autogenerate(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's filter: the engine-specific search tables made by hand in the migrations
    (SQLite's FTS5 tables, PostgreSQL's words by conversation, declared in queries/search.py)
    are not declared here, and must not be dropped by an autogenerated revision."""
    return not (
        type_ == "table"
        and name is not None
        and (name.startswith("messages_fts") or name == "conversation_words")
    )
