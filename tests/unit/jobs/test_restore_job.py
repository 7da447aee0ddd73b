"""Restoring a backup into a database and a folder: identical data, never over data by accident."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from backproof.demo import DemoLayout
from backproof.errors import IntegrityError, NotFoundError, RestoreError, UsageError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from backproof.jobs.restore import run_restore
from backproof.storage.memory import MemoryStorage

TABLES = ("companies", "contacts", "deals", "notes")


def table_rows(path: Path, table: str) -> list[tuple[object, ...]]:
    """Return every row of ``table`` in key order."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
    finally:
        connection.close()


def test_restore_gives_an_identical_database(
    memory_context: Context, demo: DemoLayout, tmp_path: Path
) -> None:
    backup = run_backup(memory_context)
    target = tmp_path / "restored.db"

    run_restore(memory_context, backup.backup_id, f"sqlite:///{target}", None)

    for table in TABLES:
        assert table_rows(target, table) == table_rows(demo.database, table)


def test_restore_gives_identical_files(
    memory_context: Context, demo: DemoLayout, tmp_path: Path
) -> None:
    backup = run_backup(memory_context)

    run_restore(memory_context, backup.backup_id, None, tmp_path / "files")

    restored = tmp_path / "files" / "uploads"
    originals = sorted(path for path in demo.uploads.rglob("*") if path.is_file())
    assert len(originals) == 18
    for path in originals:
        assert (restored / path.relative_to(demo.uploads)).read_bytes() == path.read_bytes()


def test_restore_refuses_a_database_that_is_not_empty(
    memory_context: Context, demo: DemoLayout
) -> None:
    backup = run_backup(memory_context)

    with pytest.raises(RestoreError, match="is not empty"):
        run_restore(memory_context, backup.backup_id, f"sqlite:///{demo.database}", None)

    assert memory_context.activities.find(job="restore")[0].status == "failed"


def test_restore_with_force_replaces_a_database(memory_context: Context, demo: DemoLayout) -> None:
    backup = run_backup(memory_context)
    connection = sqlite3.connect(demo.database)
    with connection:
        connection.execute("DELETE FROM contacts")
    connection.close()

    run_restore(memory_context, backup.backup_id, f"sqlite:///{demo.database}", None, force=True)

    assert len(table_rows(demo.database, "contacts")) == demo.rows["contacts"]


def test_restore_refuses_a_folder_that_is_not_empty(
    memory_context: Context, tmp_path: Path
) -> None:
    backup = run_backup(memory_context)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "keep.txt").write_text("mine", "utf-8")

    with pytest.raises(RestoreError, match="is not empty"):
        run_restore(memory_context, backup.backup_id, None, tmp_path / "files")


def test_restore_refuses_a_corrupt_backup_before_writing(
    memory_context: Context, memory_storage: MemoryStorage, tmp_path: Path
) -> None:
    backup = run_backup(memory_context)
    key = f"crm/{backup.backup_id}/db.sqlite.zst"
    memory_storage.objects[key] = memory_storage.objects[key][:-1]

    with pytest.raises(IntegrityError, match="truncated"):
        run_restore(memory_context, backup.backup_id, f"sqlite:///{tmp_path}/r.db", None)
    assert not (tmp_path / "r.db").exists()


def test_restore_of_an_unknown_backup_is_not_found(memory_context: Context) -> None:
    with pytest.raises(NotFoundError, match="no committed backup 20200101T000000Z-abcdef"):
        run_restore(memory_context, "20200101T000000Z-abcdef", None, Path("/tmp/x"))  # noqa: S108


def test_restore_without_a_destination_is_a_usage_error(memory_context: Context) -> None:
    with pytest.raises(UsageError):
        run_restore(memory_context, "20200101T000000Z-abcdef", None, None)
