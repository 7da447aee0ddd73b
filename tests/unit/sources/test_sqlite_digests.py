"""SQLite proofs: a digest of every table, recorded from the snapshot, checked after restore."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

from backproof.comparison import compare_database_facts
from backproof.sources.base import scratch_name
from backproof.sources.sqlite import SqliteSource


def make_database(path: Path) -> SqliteSource:
    """A small database: a key table and a table of notes, every kind of value."""
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, x, y)")
        connection.executemany(
            "INSERT INTO companies VALUES (?, ?)", [(n, f"Firma {n}") for n in range(1, 51)]
        )
        connection.executemany(
            "INSERT INTO notes VALUES (?, ?, ?, ?)",
            [(n, f"poznámka {n:03d}", n / 7, bytes([n % 256, 0])) for n in range(1, 201)],
        )
        connection.execute("INSERT INTO notes VALUES (500, NULL, NULL, 'ž')")
    connection.close()
    return SqliteSource(path)


def test_dump_records_a_digest_of_every_table_with_its_row_count(tmp_path: Path) -> None:
    facts = make_database(tmp_path / "app.db").dump(io.BytesIO(), ["companies"], 5).facts

    assert {table: digest.rows for table, digest in facts.digests.items()} == {
        "companies": 50,
        "notes": 201,
    }
    assert facts.digest_method == "sqlite-row-repr-xxh3-128-sum"


def test_digests_do_not_depend_on_the_order_of_the_rows(tmp_path: Path) -> None:
    first = make_database(tmp_path / "a.db").dump(io.BytesIO(), [], 0).facts
    reordered = sqlite3.connect(tmp_path / "a.db")
    with reordered:
        reordered.execute("CREATE TABLE copy AS SELECT * FROM notes ORDER BY id DESC")
        reordered.execute("DROP TABLE notes")
        reordered.execute("ALTER TABLE copy RENAME TO notes")
    reordered.close()
    second = SqliteSource(tmp_path / "a.db").dump(io.BytesIO(), [], 0).facts

    assert second.digests["notes"] == first.digests["notes"]


def test_value_changed_in_one_row_of_a_non_key_table_is_named(tmp_path: Path) -> None:
    source = make_database(tmp_path / "app.db")
    dump = io.BytesIO()
    info = source.dump(dump, ["companies"], 5)
    original = "poznámka 137".encode()
    assert dump.getvalue().count(original) == 1
    tampered = io.BytesIO(dump.getvalue().replace(original, "poznámka 731".encode()))
    scratch = source.scratch_server(tmp_path).create_scratch(
        scratch_name("app", "20260101T000000Z", "a1b2c3")
    )
    scratch.restore(tampered, info.format)

    differences = compare_database_facts(info.facts, scratch.inspect(info.facts))

    assert differences == [
        "table notes: content differs from the dump in at least one of its 201 rows"
    ]
