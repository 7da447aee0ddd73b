"""The SQLite source: a consistent snapshot with its facts, sampled rows, a checked restore."""

from __future__ import annotations

import io
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from backproof.demo import DemoLayout
from backproof.errors import RestoreError, SourceError
from backproof.sources.base import DumpInfo, scratch_name
from backproof.sources.rows import pick_sample_positions
from backproof.sources.sqlite import DUMP_FORMAT, SqliteSource
from sqlite_leftovers import leave_scratch


def dump(
    source: SqliteSource, key_tables: list[str], sample_rows: int = 10
) -> tuple[bytes, DumpInfo]:
    """Return the dump bytes and the DumpInfo of ``source``."""
    sink = io.BytesIO()
    info = source.dump(sink, key_tables, sample_rows)
    return sink.getvalue(), info


def rows_of(path: Path, query: str) -> list[tuple[object, ...]]:
    """Return the rows ``query`` reads from the SQLite file at ``path``."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def test_dump_records_every_table_with_its_row_count(demo: DemoLayout) -> None:
    _data, info = dump(SqliteSource(demo.database), ["companies", "contacts"])

    assert info.facts.tables == demo.rows


def test_dump_records_views_triggers_and_indexes(demo: DemoLayout) -> None:
    _data, info = dump(SqliteSource(demo.database), ["companies"])

    objects = info.facts.objects
    assert objects["views"] == 1
    assert objects["triggers"] == 1
    assert objects["indexes"] >= 1


def test_dump_samples_the_requested_rows_of_each_key_table(demo: DemoLayout) -> None:
    _data, info = dump(SqliteSource(demo.database), ["companies", "contacts"], 7)

    samples = info.facts.samples
    assert sorted(samples) == ["companies", "contacts"]
    assert len(samples["companies"].rows) == 7
    assert samples["companies"].key_columns == ["id"]


def test_sample_positions_are_spread_and_include_the_first() -> None:
    assert list(pick_sample_positions(100, 4)) == [0, 25, 50, 75]
    assert list(pick_sample_positions(3, 10)) == [0, 1, 2]


def test_dump_restores_to_an_identical_database(demo: DemoLayout, tmp_path: Path) -> None:
    source = SqliteSource(demo.database)
    data, info = dump(source, ["companies", "contacts"])
    target = tmp_path / "restored.sqlite"

    SqliteSource(target).restore(io.BytesIO(data), DUMP_FORMAT)

    restored = SqliteSource(target).inspect(info.facts)
    assert restored == info.facts
    query = "SELECT * FROM contacts ORDER BY id"
    assert rows_of(target, query) == rows_of(demo.database, query)


def test_sampled_row_checksum_changes_when_a_row_changes(demo: DemoLayout, tmp_path: Path) -> None:
    source = SqliteSource(demo.database)
    data, info = dump(source, ["companies"], 50)
    target = tmp_path / "restored.sqlite"
    SqliteSource(target).restore(io.BytesIO(data), DUMP_FORMAT)
    connection = sqlite3.connect(target)
    with connection:
        connection.execute("UPDATE companies SET name = 'Jiná s.r.o.' WHERE id = 1")
    connection.close()

    restored = SqliteSource(target).inspect(info.facts)

    expected = info.facts.samples["companies"].rows
    assert restored.samples["companies"].rows["[1]"] != expected["[1]"]


def test_restore_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    target = tmp_path / "restored.sqlite"

    with pytest.raises(RestoreError, match="not a valid SQLite database"):
        SqliteSource(target).restore(io.BytesIO(b"garbage" * 1000), DUMP_FORMAT)
    assert not target.exists()
    assert list(tmp_path.glob("restored*")) == []


def test_restore_refuses_a_dump_of_another_format(tmp_path: Path) -> None:
    with pytest.raises(RestoreError, match="cannot be restored into SQLite"):
        SqliteSource(tmp_path / "x.sqlite").restore(io.BytesIO(b""), "pg_dump-custom")


def test_dump_of_a_missing_file_names_it_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "gone.db"

    with pytest.raises(SourceError, match=f"SQLite database {missing} does not exist"):
        dump(SqliteSource(missing), ["companies"])
    assert not missing.exists()


def test_dump_is_consistent_while_a_transaction_is_open(demo: DemoLayout) -> None:
    writer = sqlite3.connect(demo.database, isolation_level=None)
    writer.execute("BEGIN")
    writer.execute("INSERT INTO companies (name, created_at) VALUES ('Nová a.s.', 'now')")
    try:
        _data, info = dump(SqliteSource(demo.database), ["companies"])
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert info.facts.tables["companies"] == demo.rows["companies"]


def test_is_empty_is_true_for_a_missing_file_and_false_for_the_demo(
    demo: DemoLayout, tmp_path: Path
) -> None:
    source = SqliteSource(demo.database)

    assert SqliteSource(tmp_path / "none.db").is_empty()
    assert not source.is_empty()


def test_scratch_is_made_in_a_private_folder_and_dropped(demo: DemoLayout, tmp_path: Path) -> None:
    server = SqliteSource(demo.database).scratch_server(tmp_path)
    name = scratch_name("crm", "X", "ab")
    path = server.create_scratch(name).path
    path.write_bytes(b"x")

    server.drop_scratch(name)

    assert path.name == "verify_crm_x_ab.sqlite"
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    assert not path.exists()


def test_leftover_scratches_are_dropped_and_nothing_else(demo: DemoLayout, tmp_path: Path) -> None:
    folder = tmp_path / "verify"
    leftover = leave_scratch(folder, "verify_crm_20261125t010000z_aaaaaa")
    (folder / "keep-me.sqlite").write_bytes(b"x")
    (folder / "verify_crm_20261125t010000z_bbbbbb.sqlite").write_bytes(b"no marker: not ours")

    dropped = SqliteSource(demo.database).scratch_server(tmp_path).drop_leftover_scratches()

    assert dropped == [leftover.name]
    assert sorted(path.name for path in folder.iterdir()) == [
        "keep-me.sqlite",
        "verify_crm_20261125t010000z_bbbbbb.sqlite",
    ]


CRASHING_WRITER = """
import os, sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
connection.execute("DELETE FROM contacts WHERE id > 10")
connection.commit()
os._exit(0)  # like a crash: the WAL is never merged into the database file
"""


def test_restore_over_a_crashed_database_ignores_its_stale_wal(demo: DemoLayout) -> None:
    source = SqliteSource(demo.database)
    data, _info = dump(source, ["companies"])
    subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(demo.database)], check=True)
    assert Path(f"{demo.database}-wal").stat().st_size > 0

    source.restore(io.BytesIO(data), DUMP_FORMAT)

    assert len(rows_of(demo.database, "SELECT id FROM contacts")) == demo.rows["contacts"]


def test_restore_leaves_the_mode_of_an_existing_folder_alone(
    demo: DemoLayout, tmp_path: Path
) -> None:
    source = SqliteSource(demo.database)
    data, _info = dump(source, ["companies"])
    folder = tmp_path / "app"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)

    SqliteSource(folder / "crm.db").restore(io.BytesIO(data), DUMP_FORMAT)

    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "crm.db").stat().st_mode) == 0o600
