"""Opening the state database: migrations applied on first use, private files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from backproof.errors import ConfigError
from backproof.state.database import create_state_engine, to_sqlalchemy_url


def mode_of(path: Path) -> int:
    """Return the permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def test_fresh_sqlite_file_gets_the_schema_migrated(tmp_path: Path) -> None:
    engine = create_state_engine(f"sqlite:///{tmp_path}/state/state.db", tmp_path / "locks")

    tables = sa.inspect(engine).get_table_names()
    engine.dispose()

    assert "ops_activities" in tables
    assert "alembic_version" in tables


def test_fresh_sqlite_file_is_private_in_a_private_folder(tmp_path: Path) -> None:
    path = tmp_path / "state" / "state.db"

    create_state_engine(f"sqlite:///{path}", tmp_path / "locks").dispose()

    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700


def test_opening_twice_keeps_the_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    engine = create_state_engine(url, tmp_path / "locks")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO ops_activities (job, status, started_at) "
                "VALUES ('backup', 'success', '2026-01-01 00:00:00')"
            )
        )
    engine.dispose()

    again = create_state_engine(url, tmp_path / "locks")
    with again.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM ops_activities")).scalar()
    again.dispose()

    assert count == 1


def test_migration_lock_file_is_private(tmp_path: Path) -> None:
    create_state_engine(f"sqlite:///{tmp_path}/state.db", tmp_path / "locks").dispose()

    assert mode_of(tmp_path / "locks" / "state-migrations.lock") == 0o600


def test_unusable_state_url_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^at state\.url: "):
        create_state_engine("not a url at all", tmp_path / "locks")


def test_mysql_url_gets_the_shipped_driver_and_utf8mb4() -> None:
    url = to_sqlalchemy_url("mysql://backup@127.0.0.1:3306/crm", password="s3cret")

    assert url.drivername == "mysql+pymysql"
    assert url.query["charset"] == "utf8mb4"
    assert url.password == "s3cret"


def test_postgresql_url_gets_the_psycopg_driver() -> None:
    url = to_sqlalchemy_url("postgresql://backup@127.0.0.1:5432/crm")

    assert url.drivername == "postgresql+psycopg"
