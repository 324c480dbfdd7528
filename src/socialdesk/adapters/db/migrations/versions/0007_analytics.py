"""Analytics, listening and quality: the reporting facts (one per customer message and brand
reply, one per conversation) with the reporting job's cursors, CSAT/NPS surveys, QA rubrics and
reviews, listening queries with their matches, and spike alerts; the facts' hourly rollups.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from socialdesk.adapters.db.tables import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_ = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ROLLUP_HISTOGRAMS = ("first", "first_b", "next", "next_b", "resolution", "resolution_b")
ROLLUP_MEASURES = (
    "inbound",
    "outbound",
    "auto_acks",
    "negative",
    "positive_engaged",
    "needing",
    "responded",
    "suppressed",
    "first_responses",
    "first_met",
    "first_judged",
    "next_responses",
    "next_met",
    "next_judged",
    "opened",
    "closed",
    "engaged",
    "before_negative",
    "before_neutral",
    "before_positive",
    "after_negative",
    "after_neutral",
    "after_positive",
    "turned",
    "turn_base",
)


def upgrade() -> None:
    op.create_table(
        "report_hours",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("hour", UtcDateTime(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in ROLLUP_MEASURES),
        *(sa.Column(f"hist_{name}", JSON_, nullable=False) for name in ROLLUP_HISTOGRAMS),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_report_hours")),
    )
    op.create_index(
        "ix_report_hours_dimension", "report_hours", ["dimension", "value", "hour"], unique=False
    )
    op.create_table(
        "alerts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("kinds", JSON_, nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("details", JSON_, nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("state", JSON_, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_opened", "alerts", ["opened_at"], unique=False)
    op.create_index(
        "ix_alerts_subject", "alerts", ["subject_kind", "subject", "opened_at"], unique=False
    )
    op.create_table(
        "report_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_cursors")),
    )
    op.create_table(
        "listening_queries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.String(length=2000), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("author_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["agents.id"], name=op.f("fk_listening_queries_author_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listening_queries")),
        sa.UniqueConstraint("name", name=op.f("uq_listening_queries_name")),
    )
    op.create_table(
        "review_rubrics",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("criteria", JSON_, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("author_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["agents.id"], name=op.f("fk_review_rubrics_author_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_rubrics")),
    )
    op.create_table(
        "report_conversations",
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("channel_id", ID, nullable=False),
        sa.Column("team_id", ID, nullable=True),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("sentiment_before", sa.String(length=16), nullable=True),
        sa.Column("sentiment_after", sa.String(length=16), nullable=True),
        sa.Column("engaged_at", UtcDateTime(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("resolution_seconds", sa.Integer(), nullable=True),
        sa.Column("resolution_business_seconds", sa.Integer(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("tags", JSON_, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_report_conversations_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_report_conversations")),
    )
    op.create_index(
        "ix_report_conversations_closed", "report_conversations", ["closed_at"], unique=False
    )
    op.create_index(
        "ix_report_conversations_engaged", "report_conversations", ["engaged_at"], unique=False
    )
    op.create_index(
        "ix_report_conversations_opened", "report_conversations", ["opened_at"], unique=False
    )
    op.create_table(
        "reviews",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("reviewer_id", ID, nullable=False),
        sa.Column("rubric_id", ID, nullable=False),
        sa.Column("scores", JSON_, nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("sampled_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_reviews_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_reviews_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["agents.id"], name=op.f("fk_reviews_reviewer_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["rubric_id"], ["review_rubrics.id"], name=op.f("fk_reviews_rubric_id_review_rubrics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint(
            "conversation_id", "reviewer_id", name=op.f("uq_reviews_conversation_id_reviewer_id")
        ),
    )
    op.create_index("ix_reviews_agent", "reviews", ["agent_id", "created_at"], unique=False)
    op.create_index("ix_reviews_created", "reviews", ["created_at"], unique=False)
    op.create_index("ix_conversations_closed", "conversations", ["status", "closed_at"])
    op.create_table(
        "listening_matches",
        sa.Column("query_id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("negative", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_listening_matches_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["listening_queries.id"],
            name=op.f("fk_listening_matches_query_id_listening_queries"),
        ),
        sa.PrimaryKeyConstraint("query_id", "message_id", name=op.f("pk_listening_matches")),
    )
    op.create_index(
        "ix_listening_matches_at", "listening_matches", ["query_id", "at"], unique=False
    )
    op.create_table(
        "report_messages",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("channel_id", ID, nullable=False),
        sa.Column("team_id", ID, nullable=True),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("sentiment", sa.String(length=16), nullable=True),
        sa.Column("needs_response", sa.Boolean(), nullable=False),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("engaged", sa.Boolean(), nullable=False),
        sa.Column("auto_ack", sa.Boolean(), nullable=False),
        sa.Column("responded_at", UtcDateTime(), nullable=True),
        sa.Column("response_kind", sa.String(length=8), nullable=True),
        sa.Column("response_seconds", sa.Integer(), nullable=True),
        sa.Column("response_business_seconds", sa.Integer(), nullable=True),
        sa.Column("sla_met", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_report_messages_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_report_messages_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_report_messages")),
    )
    op.create_index("ix_report_messages_at", "report_messages", ["at", "direction"], unique=False)
    op.create_index(
        "ix_report_messages_conversation",
        "report_messages",
        ["conversation_id", "at"],
        unique=False,
    )
    op.create_index(
        "ix_report_messages_responses", "report_messages", ["response_kind", "at"], unique=False
    )
    op.create_table(
        "surveys",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("channel_id", ID, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("team_id", ID, nullable=True),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("question_message_id", ID, nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("asked_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("answered_at", UtcDateTime(), nullable=True),
        sa.Column("answered_via", sa.String(length=16), nullable=True),
        sa.Column("answer_message_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_message_id"],
            ["messages.id"],
            name=op.f("fk_surveys_answer_message_id_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_surveys_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["question_message_id"],
            ["messages.id"],
            name=op.f("fk_surveys_question_message_id_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_surveys_token_hash")),
    )
    op.create_index("ix_surveys_answered", "surveys", ["answered_at"], unique=False)
    op.create_index(
        "ix_surveys_conversation", "surveys", ["conversation_id", "asked_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_report_hours_dimension", table_name="report_hours")
    op.drop_table("report_hours")
    op.drop_index("ix_surveys_conversation", table_name="surveys")
    op.drop_index("ix_surveys_answered", table_name="surveys")
    op.drop_table("surveys")
    op.drop_index("ix_report_messages_responses", table_name="report_messages")
    op.drop_index("ix_report_messages_conversation", table_name="report_messages")
    op.drop_index("ix_report_messages_at", table_name="report_messages")
    op.drop_table("report_messages")
    op.drop_index("ix_listening_matches_at", table_name="listening_matches")
    op.drop_table("listening_matches")
    op.drop_index("ix_conversations_closed", table_name="conversations")
    op.drop_index("ix_reviews_created", table_name="reviews")
    op.drop_index("ix_reviews_agent", table_name="reviews")
    op.drop_table("reviews")
    op.drop_index("ix_report_conversations_opened", table_name="report_conversations")
    op.drop_index("ix_report_conversations_engaged", table_name="report_conversations")
    op.drop_index("ix_report_conversations_closed", table_name="report_conversations")
    op.drop_table("report_conversations")
    op.drop_table("review_rubrics")
    op.drop_table("listening_queries")
    op.drop_table("report_cursors")
    op.drop_index("ix_alerts_subject", table_name="alerts")
    op.drop_index("ix_alerts_opened", table_name="alerts")
    op.drop_table("alerts")
