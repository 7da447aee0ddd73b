"""Create ops_signing_keys: the public keys of the manifest signing keys backproof generated.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backproof.state.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table of generated signing keys."""
    op.create_table(
        "ops_signing_keys",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("key_file", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    """Drop the table of generated signing keys."""
    op.drop_table("ops_signing_keys")
