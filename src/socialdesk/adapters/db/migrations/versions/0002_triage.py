"""Triage: results on messages, a claimable triage queue, intent, language and priority factors
on conversations.

Plain ADD COLUMN on both engines (no table copy on SQLite, which would drop the FTS triggers).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from socialdesk.adapters.db.tables import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_ = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UNTRIAGED = sa.text("triage IS NULL AND direction = 'inbound'")


def upgrade() -> None:
    op.add_column("conversations", sa.Column("intent", sa.String(64), nullable=True))
    op.add_column("conversations", sa.Column("language", sa.String(8), nullable=True))
    op.add_column("conversations", sa.Column("priority_basis", JSON_, nullable=True))
    op.add_column("conversations", sa.Column("priority_factors", JSON_, nullable=True))
    op.add_column("conversations", sa.Column("priority_scored_at", UtcDateTime(), nullable=True))
    op.create_index("ix_conversations_rescore", "conversations", ["status", "priority_scored_at"])
    op.add_column("messages", sa.Column("triage", JSON_, nullable=True))
    op.add_column("messages", sa.Column("triage_claimed_at", UtcDateTime(), nullable=True))
    op.create_index(
        "ix_messages_untriaged",
        "messages",
        ["id"],
        sqlite_where=UNTRIAGED,
        postgresql_where=UNTRIAGED,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_untriaged", "messages")
    op.drop_index("ix_conversations_rescore", "conversations")
    # SQLite 3.35+ drops columns in place (no table copy, so the FTS triggers stay).
    for column in ("triage_claimed_at", "triage"):
        op.drop_column("messages", column)
    for column in (
        "priority_scored_at",
        "priority_factors",
        "priority_basis",
        "language",
        "intent",
    ):
        op.drop_column("conversations", column)
