"""Create ops_alerts: the state and rate limit of each alert event key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backproof.state.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the alert state table and its index."""
    op.create_table(
        "ops_alerts",
        sa.Column("key", sa.String(191), primary_key=True),
        sa.Column("target", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("occurrence", sa.String(64), nullable=True),
        sa.Column("last_sent_at", UTCDateTime(), nullable=True),
        sa.Column("suppressed_count", sa.Integer(), nullable=False),
        sa.Column("pending", sa.JSON(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_ops_alerts_target", "ops_alerts", ["target"])


def downgrade() -> None:
    """Drop the alert state table."""
    op.drop_table("ops_alerts")
