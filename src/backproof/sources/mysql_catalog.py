"""The catalog of a MySQL/MariaDB database: tables, objects, key tables; and the facts of a
restored one.

At dump time only what the stream cannot tell comes from here: the objects (views, triggers,
routines, events…), the key tables' columns and primary keys, and the tables that are not
InnoDB. Row counts and samples of a dump come from the stream (``mysql_stream``). After a
restore, everything is read here, with values as the text the server sends, as in the dump.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pymysql.cursors

from backproof.archive.manifest import Facts, SampledRows
from backproof.sources.mysql_stream import KeyTable
from backproof.sources.rows import row_digest

MARKER_TABLE = "_backproof_verify_marker"
TABLE_TYPES = "('BASE TABLE', 'SYSTEM VERSIONED')"
BINARY_TYPES = frozenset(
    {
        "binary",
        "varbinary",
        "tinyblob",
        "blob",
        "mediumblob",
        "longblob",
        "bit",
        "geometry",
        "point",
        "linestring",
        "polygon",
        "multipoint",
        "multilinestring",
        "multipolygon",
        "geometrycollection",
    }
)
TRANSACTIONAL_ENGINES = frozenset({"InnoDB"})
# The character sets whose stored bytes of valid text are the text as utf8mb4 prints it.
UTF8_CHARSETS = ("utf8mb4", "utf8mb3", "utf8", "ascii")

TABLES_QUERY = f"""
SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES
WHERE TABLE_SCHEMA = %s AND TABLE_TYPE IN {TABLE_TYPES} AND TABLE_NAME <> '{MARKER_TABLE}'
ORDER BY TABLE_NAME
"""
_SIZES_QUERY = (
    "SELECT TABLE_NAME, COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) "
    "FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
)
OBJECTS_QUERY = f"""
SELECT
  (SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %(db)s) AS views,
  (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %(db)s) AS triggers,
  (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %(db)s) AS routines,
  (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %(db)s) AS events,
  (SELECT COUNT(*) FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = %(db)s AND TABLE_TYPE = 'SEQUENCE') AS sequences,
  (SELECT COUNT(DISTINCT TABLE_NAME, INDEX_NAME) FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = %(db)s AND TABLE_NAME <> '{MARKER_TABLE}') AS indexes,
  (SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS
    WHERE CONSTRAINT_SCHEMA = %(db)s) AS foreign_keys,
  (SELECT COUNT(*) FROM information_schema.PARTITIONS
    WHERE TABLE_SCHEMA = %(db)s AND PARTITION_NAME IS NOT NULL) AS partitions
"""
COLUMNS_QUERY = """
SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s
  AND EXTRA NOT LIKE '%%VIRTUAL GENERATED%%' AND EXTRA NOT LIKE '%%STORED GENERATED%%'
  AND EXTRA NOT LIKE '%%PERSISTENT GENERATED%%'
ORDER BY ORDINAL_POSITION
"""
# The tables whose every column is of a type the dump prints the same in either text form
# (``mysql_tools.DumpScope.text_as_bytes``): no binary type, no other character set.
_BINARY_LIST = ", ".join(f"'{name}'" for name in sorted(BINARY_TYPES))
_UTF8_LIST = ", ".join(f"'{name}'" for name in UTF8_CHARSETS)
TEXT_TABLES_QUERY = f"""
SELECT TABLE_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s
GROUP BY TABLE_NAME
HAVING SUM(DATA_TYPE IN ({_BINARY_LIST})
  OR COALESCE(CHARACTER_SET_NAME, 'ascii') NOT IN ({_UTF8_LIST})) = 0
"""
PRIMARY_KEY_QUERY = """
SELECT COLUMN_NAME FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND INDEX_NAME = 'PRIMARY'
ORDER BY SEQ_IN_INDEX
"""


def quote(name: str) -> str:
    """Quote a MySQL identifier."""
    return "`" + name.replace("`", "``") + "`"


def list_tables(cursor: Any, database: str) -> dict[str, str]:
    """Return the base tables of ``database`` and their engines."""
    cursor.execute(TABLES_QUERY, (database,))
    return {str(name): str(engine or "") for name, engine in cursor.fetchall()}


def count_objects(cursor: Any, database: str) -> dict[str, int]:
    """Return the number of each kind of object of ``database``."""
    cursor.execute(OBJECTS_QUERY, {"db": database})
    row = cursor.fetchone()
    names = [column[0] for column in cursor.description]
    return {name: int(value) for name, value in zip(names, row, strict=True)}


def non_transactional_warnings(tables: dict[str, str]) -> list[str]:
    """Return a warning per table whose engine a single transaction cannot snapshot."""
    return [
        f"table {name} uses {engine or 'no engine'}, not InnoDB: its dump is not consistent "
        "with the other tables if it was written during the backup"
        for name, engine in tables.items()
        if engine not in TRANSACTIONAL_ENGINES
    ]


def key_table(cursor: Any, database: str, name: str) -> KeyTable:
    """Return the stored columns, binary columns and primary key of a table."""
    cursor.execute(COLUMNS_QUERY, (database, name))
    columns: list[str] = []
    binary: set[str] = set()
    for column, data_type, charset in cursor.fetchall():
        columns.append(str(column))
        if str(data_type).lower() in BINARY_TYPES or charset == "binary":
            binary.add(str(column))
    cursor.execute(PRIMARY_KEY_QUERY, (database, name))
    keys = [str(column) for (column,) in cursor.fetchall()]
    return KeyTable(name, keys, columns, frozenset(binary))


def read_facts(
    connection: Any, database: str, expected: Facts, *, count_rows: bool = True
) -> Facts:
    """Return the facts of a restored database: row counts, objects, the rows ``expected``
    sampled (looked up by their keys). ``count_rows`` False: every table's count is left at 0
    for the caller, who counts the rows as it reads them all (``MysqlSource.inspect``)."""
    with connection.cursor() as cursor:
        tables = list_tables(cursor, database)
        counts = count_table_rows(cursor, tables) if count_rows else dict.fromkeys(tables, 0)
        samples = {
            name: _lookup(connection, key_table(cursor, database, name), wanted)
            for name, wanted in expected.samples.items()
            if name in tables
        }
        objects = count_objects(cursor, database)
    return Facts(tables=counts, samples=samples, objects=objects)


def table_sizes(cursor: Any, database: str) -> dict[str, int]:
    """Return the bytes of data and indexes of each table of ``database``, as the catalog
    estimates them (the order of work, never a fact)."""
    cursor.execute(_SIZES_QUERY, (database,))
    return {str(name): int(size) for name, size in cursor.fetchall()}


def count_table_rows(cursor: Any, tables: Iterable[str]) -> dict[str, int]:
    """Return the number of rows of each of ``tables`` (``SELECT COUNT(*)``)."""
    counts = {}
    for name in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {quote(name)}")
        counts[name] = int(cursor.fetchone()[0])
    return counts


def text_tables(connection: Any, database: str) -> set[str]:
    """Return the tables of ``database`` that a dump prints the same with their text sent as
    its stored bytes: no column of a binary type, every text column utf8mb4, utf8mb3 or
    ascii."""
    with connection.cursor() as cursor:
        cursor.execute(TEXT_TABLES_QUERY, (database,))
        return {str(name) for (name,) in cursor.fetchall()}


def _lookup(connection: Any, table: KeyTable, wanted: SampledRows) -> SampledRows:
    columns = ", ".join(quote(column) for column in table.columns)
    if not wanted.key_columns:
        return _lookup_by_digest(connection, table, columns, wanted)
    if table.key_columns != wanted.key_columns:
        return SampledRows(key_columns=wanted.key_columns, rows={})
    condition = " AND ".join(f"{quote(column)} = %s" for column in table.key_columns)
    query = f"SELECT {columns} FROM {quote(table.name)} WHERE {condition}"
    rows = {}
    with connection.cursor() as cursor:
        for key in wanted.rows:
            cursor.execute(query, [_key_value(value) for value in json.loads(key)])
            row = cursor.fetchone()
            if row is not None:
                rows[key] = row_digest(table.columns, _texts(row))
    return SampledRows(key_columns=wanted.key_columns, rows=rows)


def _lookup_by_digest(
    connection: Any, table: KeyTable, columns: str, wanted: SampledRows
) -> SampledRows:
    found = {}
    with connection.cursor(pymysql.cursors.SSCursor) as cursor:
        cursor.execute(f"SELECT {columns} FROM {quote(table.name)}")
        for row in cursor:
            digest = row_digest(table.columns, _texts(row))
            if digest in wanted.rows:
                found[digest] = digest
    return SampledRows(key_columns=[], rows=found)


def _key_value(value: Any) -> Any:
    """Turn a canonical key value back into a query parameter (``{"hex": …}`` is bytes)."""
    if isinstance(value, dict) and "hex" in value:
        return bytes.fromhex(value["hex"])
    return value


def _texts(row: Sequence[Any]) -> list[Any]:
    return [bytes(value) if isinstance(value, bytearray) else value for value in row]
