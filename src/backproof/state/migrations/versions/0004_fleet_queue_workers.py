"""The fleet (issue 15): ``ops_queue`` (jobs sent to workers) and ``ops_workers`` (heartbeats).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backproof.state.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the two tables."""
    op.create_table(
        "ops_queue",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pending_key", sa.String(128), nullable=True, unique=True),
        sa.Column("step", sa.String(32), nullable=True),
        sa.Column("worker", sa.String(255), nullable=True),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
    )
    op.create_index("ix_ops_queue_status", "ops_queue", ["status"])
    op.create_index("ix_ops_queue_queued_at", "ops_queue", ["queued_at"])
    op.create_table(
        "ops_workers",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queues", sa.String(255), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.Column("stopped_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    """Drop the two tables."""
    op.drop_table("ops_workers")
    op.drop_index("ix_ops_queue_queued_at", table_name="ops_queue")
    op.drop_index("ix_ops_queue_status", table_name="ops_queue")
    op.drop_table("ops_queue")
