"""Rollups split by platform: each hourly rollup row of a dimension's value now also carries the
platform, so a dashboard filtered by one dimension reads its platform shares and its breakdown by
platform from the rollups, and a platform filter combines with any other one; and each row is
kept per UTC day besides per hour, so a month reads its whole days (domain/rollups.py).
Surveys get an index by when they were asked (the survey response rate's range).

The rows of the old shape cannot be split after the fact, so the reporting facts start again:
the worker's reporting job recomputes them from the permanent record, or, faster on a large desk,
`socialdesk report rebuild` does (docs/metrics.md).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from socialdesk.adapters.db.tables import UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_ = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
HISTOGRAMS = ("first", "first_b", "next", "next_b", "resolution", "resolution_b")
MEASURES = (
    *("inbound", "outbound", "auto_acks", "negative", "positive_engaged", "needing"),
    *("responded", "suppressed", "first_responses", "first_met", "first_judged"),
    *("next_responses", "next_met", "next_judged", "opened", "closed", "engaged"),
    *("before_negative", "before_neutral", "before_positive", "after_negative"),
    *("after_neutral", "after_positive", "turned", "turn_base"),
)


SCOPE = (
    *("dimension", "value", "span", "hour", "platform"),
    *("inbound", "outbound", "negative", "opened", "closed", "first_responses", "next_responses"),
)


def _report_hours(*split: sa.Column[str]) -> None:
    op.create_table(
        "report_hours",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("hour", UtcDateTime(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        *split,
        *(sa.Column(name, sa.Integer(), nullable=False) for name in MEASURES),
        *(sa.Column(f"hist_{name}", JSON_, nullable=False) for name in HISTOGRAMS),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_report_hours")),
    )


def _start_reporting_again() -> None:
    for table in ("report_messages", "report_conversations", "report_cursors"):
        op.execute(sa.delete(sa.table(table)))


def upgrade() -> None:
    op.drop_index("ix_report_hours_dimension", table_name="report_hours")
    op.drop_table("report_hours")
    _report_hours(
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("span", sa.String(length=1), nullable=False),
    )
    # Covering the time series, the backlog's starting point (every hour before a range) and the
    # counts that choose exact durations or histograms (queries/analytics.py).
    op.create_index("ix_report_hours_scope", "report_hours", list(SCOPE), unique=False)
    op.create_index("ix_surveys_asked", "surveys", ["asked_at"], unique=False)
    _start_reporting_again()


def downgrade() -> None:
    op.drop_index("ix_surveys_asked", table_name="surveys")
    op.drop_index("ix_report_hours_scope", table_name="report_hours")
    op.drop_table("report_hours")
    _report_hours()
    op.create_index(
        "ix_report_hours_dimension", "report_hours", ["dimension", "value", "hour"], unique=False
    )
    _start_reporting_again()
