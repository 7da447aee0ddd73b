"""Index ops_activities by (job, started_at): the newest row of a job over every target (the
report runs for all targets at once) without sorting the whole job's history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the index."""
    op.create_index("ix_ops_activities_job_started", "ops_activities", ["job", "started_at"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_ops_activities_job_started", table_name="ops_activities")
