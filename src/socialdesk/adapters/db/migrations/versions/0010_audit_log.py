"""The audit log: a partial index over the events that people caused (those with an actor), so
listing them newest first skips the system's events, which are most of the table.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HAS_ACTOR = sa.text("actor_agent_id IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_events_audit", "events", ["id"], sqlite_where=HAS_ACTOR, postgresql_where=HAS_ACTOR
    )


def downgrade() -> None:
    op.drop_index("ix_events_audit", "events")
