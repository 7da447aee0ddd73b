"""`list`'s read of a SQLite state through sqlite3: the same proofs as the audit trail's, and
no reader where the audit trail must open the database itself (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from backproof.state.activities import ActivityLog
from backproof.state.database import create_state_engine
from backproof.state.sqlite_reads import SQLiteProofReader, sqlite_state_file
from hand_clock import HandClock

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


@pytest.fixture
def state_url(tmp_path: Path) -> str:
    return f"sqlite:////{str(tmp_path / 'state.db').lstrip('/')}"


@pytest.fixture
def log(tmp_path: Path, state_url: str) -> Iterator[ActivityLog]:
    engine = create_state_engine(state_url, tmp_path / "locks")
    yield ActivityLog(engine, HandClock(NOW))
    engine.dispose()


def open_reader(url: str) -> SQLiteProofReader:
    reader = SQLiteProofReader.open(url)
    assert reader is not None
    return reader


def write_history(log: ActivityLog) -> None:
    """Verifies of several backups and targets, some failed, one running, and other jobs."""
    clock = log.clock
    assert isinstance(clock, HandClock)
    rows = (
        ("verify", "crm", "a", "success", {"depth": "content"}),
        ("verify", "crm", "a", "failed", {}),
        ("verify", "crm", "b", "success", {}),
        ("verify", "crm", "b", "success", {"depth": "files"}),
        ("verify", "crm", "c", "failed", {}),
        ("verify", "shop", "a", "success", {"depth": "content"}),
        ("backup", "crm", "d", "success", {}),
        ("verify", "crm", "d", "skipped", {}),
    )
    for hour, (job, target, backup_id, status, meta) in enumerate(rows, start=1):
        clock.now = NOW + timedelta(hours=hour, microseconds=hour)
        log.finish(log.start(job, target), status, "", meta, backup_id=backup_id)
    clock.now = NOW + timedelta(hours=20)
    log.set_backup_id(log.start("verify", "crm"), "d")  # still running


def test_reader_finds_the_same_proofs_as_the_audit_trail(log: ActivityLog, state_url: str) -> None:
    write_history(log)
    reader = open_reader(state_url)

    for target, ids in (("crm", ["a", "b", "c", "d", "e"]), ("shop", ["a"]), ("crm", [])):
        assert reader.proofs(target, ids) == log.proofs(target, ids), (target, ids)
    found = reader.proofs("crm", ["a", "b", "c", "d"])
    assert found.latest["a"] == ("failed", NOW + timedelta(hours=2, microseconds=2))
    assert found.depths == {"a": "content", "b": "files"}
    assert "d" not in found.latest


def test_reader_is_none_when_a_migration_is_due(log: ActivityLog, state_url: str) -> None:
    with log.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0004'"))

    assert SQLiteProofReader.open(state_url) is None


def test_reader_is_none_without_a_file_or_its_schema(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    not_sqlite = tmp_path / "text.db"
    not_sqlite.write_text("not a database, only text long enough to be read as a header\n")

    for path in (missing, empty, not_sqlite):
        assert SQLiteProofReader.open(f"sqlite:////{str(path).lstrip('/')}") is None, path
    assert not missing.exists()


def test_state_file_is_read_only_from_an_absolute_sqlite_url() -> None:
    assert sqlite_state_file("sqlite:////srv/a%20b/state.db") == Path("/srv/a b/state.db")
    for url in (
        "sqlite:///relative.db",
        "sqlite+pysqlite:////srv/state.db",
        "sqlite:////srv/state.db?mode=ro",
        "sqlite://",
        "postgresql://backproof@db/state",
    ):
        assert sqlite_state_file(url) is None, url
