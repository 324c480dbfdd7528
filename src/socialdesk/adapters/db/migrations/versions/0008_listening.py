"""Listening and spikes: public inbound posts counted per hour and intent as triage stores them
(`post_hours`, filled here from the posts already triaged), so the spike job reads weeks of
history without scanning the messages; and an index over public inbound posts by time, for the
sample posts an alert shows.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from socialdesk.adapters.db.tables import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC_INBOUND = sa.text("direction = 'inbound' AND visibility = 'public'")
# The hour as each engine stores a UTC time (SQLite: naive text with microseconds).
BACKFILL = {
    "sqlite": """
        INSERT INTO post_hours (hour, intent, posts, negative)
        SELECT strftime('%Y-%m-%d %H:00:00.000000', created_at),
               coalesce(json_extract(triage, '$.intent'), ''),
               count(*),
               sum(CASE WHEN json_extract(triage, '$.sentiment') = 'negative' THEN 1 ELSE 0 END)
        FROM messages
        WHERE direction = 'inbound' AND visibility = 'public' AND triage IS NOT NULL
        GROUP BY 1, 2
    """,
    "postgresql": """
        INSERT INTO post_hours (hour, intent, posts, negative)
        SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
               coalesce(triage ->> 'intent', ''),
               count(*),
               sum(CASE WHEN triage ->> 'sentiment' = 'negative' THEN 1 ELSE 0 END)
        FROM messages
        WHERE direction = 'inbound' AND visibility = 'public' AND triage IS NOT NULL
        GROUP BY 1, 2
    """,
}


def upgrade() -> None:
    op.create_table(
        "post_hours",
        sa.Column("hour", UtcDateTime(), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "intent", name=op.f("pk_post_hours")),
    )
    op.create_index(
        "ix_messages_public_inbound",
        "messages",
        ["created_at"],
        sqlite_where=PUBLIC_INBOUND,
        postgresql_where=PUBLIC_INBOUND,
    )
    op.execute(BACKFILL[op.get_bind().dialect.name])


def downgrade() -> None:
    op.drop_index("ix_messages_public_inbound", "messages")
    op.drop_table("post_hours")
