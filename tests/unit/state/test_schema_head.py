"""The revision every command checks cheaply is the head of the Alembic migrations."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from backproof.state.database import MIGRATIONS_DIR
from backproof.state.sqlite_reads import SCHEMA_HEAD


def test_schema_head_equals_alembic_head_when_migrations_change() -> None:
    assert ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() == SCHEMA_HEAD
