"""Create ops_activities.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backproof.state.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the audit table and its indexes."""
    op.create_table(
        "ops_activities",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("target", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("backup_id", sa.String(64), nullable=True),
    )
    op.create_index(
        "ix_ops_activities_job_target_started", "ops_activities", ["job", "target", "started_at"]
    )
    op.create_index("ix_ops_activities_status", "ops_activities", ["status"])
    op.create_index("ix_ops_activities_backup_id", "ops_activities", ["backup_id"])
    op.create_index("ix_ops_activities_started", "ops_activities", ["started_at"])


def downgrade() -> None:
    """Drop the audit table."""
    op.drop_table("ops_activities")
