"""Connectors: outbox leases and doubt, channel poll cursors, quarantined webhook deliveries.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from socialdesk.adapters.db.tables import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_ = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("outbox", sa.Column("claimed_at", UtcDateTime(), nullable=True))
    op.add_column(
        "outbox",
        sa.Column("in_doubt", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("outbox", sa.Column("sent_at", UtcDateTime(), nullable=True))
    op.create_index("ix_outbox_claimed", "outbox", ["state", "claimed_at"])
    op.create_table(
        "channel_polls",
        sa.Column("channel_id", ID, nullable=False),
        sa.Column("cursor", JSON_, nullable=False),
        sa.Column("next_poll_at", UtcDateTime(), nullable=True),
        sa.Column("claimed_at", UtcDateTime(), nullable=True),
        sa.Column("last_polled_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_errors", sa.Integer(), nullable=False),
        sa.Column("polled_messages", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name="fk_channel_polls_channel_id_channels"
        ),
        sa.PrimaryKeyConstraint("channel_id", name="pk_channel_polls"),
    )
    op.create_index("ix_channel_polls_due", "channel_polls", ["next_poll_at"])
    op.create_table(
        "quarantine",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("channel_id", ID, nullable=True),
        sa.Column("connector", sa.String(32), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("headers", JSON_, nullable=False),
        sa.Column("query", JSON_, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("replayed_at", UtcDateTime(), nullable=True),
        sa.Column("replay_result", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name="fk_quarantine_channel_id_channels"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
    )
    op.create_index("ix_quarantine_received", "quarantine", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_quarantine_received", "quarantine")
    op.drop_table("quarantine")
    op.drop_index("ix_channel_polls_due", "channel_polls")
    op.drop_table("channel_polls")
    op.drop_index("ix_outbox_claimed", "outbox")
    for column in ("sent_at", "in_doubt", "claimed_at"):
        op.drop_column("outbox", column)
