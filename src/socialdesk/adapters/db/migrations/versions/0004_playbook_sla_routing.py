"""Playbook, SLA policies and calendars, templates, routing fields, escalation notifications
and agents' activity (who views or types where).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from socialdesk.adapters.db.tables import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_ = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UNPLAYED = sa.text("playbook IS NULL AND triage IS NOT NULL AND direction = 'inbound'")


def _ref(table: str, column: str, target: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        column,
        ID,
        sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}"),
        nullable=True,
    )


def upgrade() -> None:
    op.create_table(
        "calendars",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("weekly", JSON_, nullable=False),
        sa.Column("holiday_country", sa.String(8), nullable=True),
        sa.Column("holiday_subdivision", sa.String(16), nullable=True),
        sa.Column("extra_holidays", JSON_, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_calendars"),
        sa.UniqueConstraint("name", name="uq_calendars_name"),
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("targets", JSON_, nullable=False),
        _ref("sla_policies", "calendar_id", "calendars"),
        sa.Column("pause_when_pending", sa.Boolean(), nullable=False),
        sa.Column("warn_before_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sla_policies"),
        sa.UniqueConstraint("name", name="uq_sla_policies_name"),
    )
    op.create_table(
        "templates",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        _ref("templates", "updated_by", "agents"),
        sa.PrimaryKeyConstraint("id", name="pk_templates"),
        sa.UniqueConstraint("name", name="uq_templates_name"),
    )
    op.create_table(
        "playbook_versions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("comment", sa.String(500), nullable=False),
        _ref("playbook_versions", "author_agent_id", "agents"),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("activated_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_playbook_versions"),
        sa.UniqueConstraint("version", name="uq_playbook_versions_version"),
    )
    op.create_index(
        "ix_playbook_versions_live",
        "playbook_versions",
        ["live"],
        unique=True,
        sqlite_where=sa.text("live IS 1"),
        postgresql_where=sa.text("live IS true"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("destination", sa.String(2000), nullable=False),
        sa.Column("payload", JSON_, nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ref("notifications", "conversation_id", "conversations"),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
    )
    op.create_index("ix_notifications_due", "notifications", ["state", "next_attempt_at"])
    op.create_table(
        "activities",
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("seen_up_to", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_activities_conversation_id_conversations",
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name="fk_activities_agent_id_agents"),
        sa.PrimaryKeyConstraint("conversation_id", "agent_id", name="pk_activities"),
    )
    with op.batch_alter_table("teams", recreate="never") as batch:
        batch.add_column(sa.Column("skills", JSON_, nullable=False, server_default="{}"))
        batch.add_column(
            sa.Column(
                "assignment_mode", sa.String(16), nullable=False, server_default="round_robin"
            )
        )
        batch.add_column(sa.Column("last_assigned_agent_id", sa.BigInteger(), nullable=True))
    # Plain id columns, not foreign keys: SQLite can add and drop those in place, without
    # copying tables that others reference; the services check what they point at.
    op.add_column("teams", sa.Column("calendar_id", ID, nullable=True))
    op.add_column("teams", sa.Column("sla_policy_id", ID, nullable=True))
    op.add_column("conversations", sa.Column("sla_policy_id", ID, nullable=True))
    with op.batch_alter_table("agents", recreate="never") as batch:
        batch.add_column(sa.Column("capacity", JSON_, nullable=False, server_default="{}"))
        batch.add_column(
            sa.Column("presence", sa.String(16), nullable=False, server_default="offline")
        )
        batch.add_column(sa.Column("presence_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("last_assigned_at", UtcDateTime(), nullable=True))
    with op.batch_alter_table("conversations", recreate="never") as batch:
        for column in ("first_response_due_at", "next_response_due_at", "resolution_due_at"):
            batch.add_column(sa.Column(column, UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("sla_state", sa.String(16), nullable=True))
        batch.add_column(
            sa.Column("sla_paused_seconds", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("pending_since", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("pending_periods", JSON_, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("sla_refreshed_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("priority_rule", NULLABLE_JSON, nullable=True))
        batch.add_column(sa.Column("suppressed_reason", sa.String(200), nullable=True))
        batch.add_column(sa.Column("private_mode", sa.String(16), nullable=True))
        batch.add_column(sa.Column("auto_acked_at", UtcDateTime(), nullable=True))
    op.create_index(
        "ix_conversations_sla_sweep", "conversations", ["sla_refreshed_at", "updated_at"]
    )
    op.add_column("messages", sa.Column("playbook", NULLABLE_JSON, nullable=True))
    op.add_column("messages", sa.Column("playbook_claimed_at", UtcDateTime(), nullable=True))
    op.create_index(
        "ix_messages_unplayed", "messages", ["id"], sqlite_where=UNPLAYED, postgresql_where=UNPLAYED
    )


def downgrade() -> None:
    op.drop_index("ix_messages_unplayed", "messages")
    for column in ("playbook_claimed_at", "playbook"):
        op.drop_column("messages", column)
    op.drop_index("ix_conversations_sla_sweep", "conversations")
    for column in (
        "sla_policy_id",
        "auto_acked_at",
        "private_mode",
        "suppressed_reason",
        "priority_rule",
        "sla_refreshed_at",
        "pending_periods",
        "pending_since",
        "sla_paused_seconds",
        "sla_state",
        "resolution_due_at",
        "next_response_due_at",
        "first_response_due_at",
    ):
        op.drop_column("conversations", column)
    for column in ("last_assigned_at", "presence_at", "presence", "capacity"):
        op.drop_column("agents", column)
    for column in (
        "sla_policy_id",
        "calendar_id",
        "last_assigned_agent_id",
        "assignment_mode",
        "skills",
    ):
        op.drop_column("teams", column)
    op.drop_table("activities")
    op.drop_index("ix_notifications_due", "notifications")
    op.drop_table("notifications")
    op.drop_index("ix_playbook_versions_live", "playbook_versions")
    op.drop_table("playbook_versions")
    op.drop_table("templates")
    op.drop_table("sla_policies")
    op.drop_table("calendars")
