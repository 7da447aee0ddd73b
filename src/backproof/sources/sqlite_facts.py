"""The facts of a SQLite file: its tables and their rows, its objects, the key tables' sampled
rows and every table's digest; and the sizes ``init`` ranks tables by."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from backproof.archive.manifest import Facts, SampledRows
from backproof.sources.base import TableSize, largest_first
from backproof.sources.rows import pick_sample_positions, row_digest, row_key
from backproof.sources.sqlite_digests import DIGEST_METHOD, digest_tables

OBJECT_KINDS = {"view": "views", "trigger": "triggers", "index": "indexes"}


def table_names(connection: sqlite3.Connection) -> list[str]:
    """Return the names of the application's tables, sorted."""
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    )
    return [row[0] for row in rows]


def quote(name: str) -> str:
    """Quote an SQLite identifier."""
    return '"' + name.replace('"', '""') + '"'


def read_facts(
    connection: sqlite3.Connection,
    key_tables: Sequence[str],
    sample_rows: int,
    expected: Facts | None,
) -> Facts:
    """Return tables, row counts, object counts and sampled-row checksums of a SQLite file.

    With ``expected``, the rows sampled are the ones ``expected`` names; otherwise they are
    chosen evenly in key order, ``sample_rows`` per key table. Raises sqlite3.Error.
    """
    tables = {
        name: connection.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()[0]
        for name in table_names(connection)
    }
    objects = dict.fromkeys(OBJECT_KINDS.values(), 0)
    for kind, count in connection.execute(
        "SELECT type, count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' GROUP BY type"
    ):
        if kind in OBJECT_KINDS:
            objects[OBJECT_KINDS[kind]] = count
    samples = {}
    for table in key_tables:
        if table in tables:
            wanted = expected.samples[table] if expected else None
            samples[table] = _sample(connection, table, tables[table], sample_rows, wanted)
    with_digests = expected is None or bool(expected.digests)
    digests = digest_tables(connection, tables, quote) if with_digests else {}
    method = DIGEST_METHOD if digests else ""
    return Facts(
        tables=tables, samples=samples, objects=objects, digests=digests, digest_method=method
    )


def _key_columns(connection: sqlite3.Connection, table: str) -> list[str]:
    info = connection.execute(f"PRAGMA table_info({quote(table)})").fetchall()
    keyed = sorted((row[5], row[1]) for row in info if row[5] > 0)
    return [name for _position, name in keyed] or ["rowid"]


def _sample(
    connection: sqlite3.Connection,
    table: str,
    row_count: int,
    sample_rows: int,
    wanted: SampledRows | None,
) -> SampledRows:
    key_columns = wanted.key_columns if wanted else _key_columns(connection, table)
    key_list = ", ".join(quote(column) if column != "rowid" else "rowid" for column in key_columns)
    if wanted is None:
        positions = set(pick_sample_positions(row_count, sample_rows))
        cursor = connection.execute(f"SELECT {key_list} FROM {quote(table)} ORDER BY {key_list}")
        keys = [row for index, row in enumerate(cursor) if index in positions]
    else:
        keys = [tuple(json.loads(key)) for key in wanted.rows]
    condition = " AND ".join(
        f"{quote(column) if column != 'rowid' else 'rowid'} IS ?" for column in key_columns
    )
    digests: dict[str, str] = {}
    for key in keys:
        cursor = connection.execute(f"SELECT * FROM {quote(table)} WHERE {condition}", key)
        row = cursor.fetchone()
        if row is not None:
            columns = [description[0] for description in cursor.description]
            digests[row_key(key)] = row_digest(columns, row)
    return SampledRows(key_columns=key_columns, rows=digests)


def table_sizes(connection: sqlite3.Connection) -> list[TableSize]:
    """Return every table with its rows (SQLite has no cheap size: rows rank), largest first."""
    sizes = [
        TableSize(
            name, 0, int(connection.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()[0])
        )
        for name in table_names(connection)
    ]
    return largest_first(sizes)
