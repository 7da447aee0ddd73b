"""The facts of a PostgreSQL database, read in one snapshot: tables, row counts, objects, samples.

At dump time these queries run in the REPEATABLE READ transaction whose snapshot pg_dump
imports, so they describe exactly what the dump holds; after a restore the same queries read
the scratch database. Tables of the ``public`` schema are named bare (``companies``), others
schema-qualified (``sales.orders``). Sampled rows are read as text under fixed session
settings (see ``postgresql_tools.CANONICAL_SETTINGS``), so a value hashes the same before and
after.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from backproof.archive.manifest import Facts, SampledRows
from backproof.sources.postgresql_labels import table_label
from backproof.sources.rows import row_digest, row_key

# Schemas of the system; everything else (public included) belongs to the application.
# Where verify installs amcheck in a restored copy: neither the schema nor the extension in it
# counts as an object, so the checks may run while the copy's facts are read.
AMCHECK_SCHEMA = "backproof_amcheck"
USER_SCHEMA = "n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'"
NOT_EXTENSION_MEMBER = (
    "NOT EXISTS (SELECT 1 FROM pg_depend AS e WHERE e.classid = {catalog}::regclass "
    "AND e.objid = {oid} AND e.deptype = 'e')"
)
_RELATIONS = NOT_EXTENSION_MEMBER.format(catalog="'pg_class'", oid="c.oid")

TABLES_QUERY = f"""
SELECT c.oid, n.nspname, c.relname, c.relkind
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND {USER_SCHEMA} AND {_RELATIONS}
ORDER BY n.nspname, c.relname
"""

OBJECTS_QUERY = f"""
SELECT
  (SELECT count(*) FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind = 'v' AND {USER_SCHEMA} AND {_RELATIONS}) AS views,
  (SELECT count(*) FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind = 'm' AND {USER_SCHEMA} AND {_RELATIONS}) AS materialized_views,
  (SELECT count(*) FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind = 'S' AND {USER_SCHEMA} AND {_RELATIONS}) AS sequences,
  (SELECT count(*) FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind = 'p' AND {USER_SCHEMA} AND {_RELATIONS}) AS partitioned_tables,
  (SELECT count(*) FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('i', 'I') AND {USER_SCHEMA} AND {_RELATIONS}) AS indexes,
  (SELECT count(*) FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE NOT t.tgisinternal AND {USER_SCHEMA}) AS triggers,
  (SELECT count(*) FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE {USER_SCHEMA}
      AND {NOT_EXTENSION_MEMBER.format(catalog="'pg_proc'", oid="p.oid")}) AS routines,
  (SELECT count(*) FROM pg_type AS t JOIN pg_namespace AS n ON n.oid = t.typnamespace
    WHERE {USER_SCHEMA} AND (t.typtype IN ('e', 'd', 'r')
      OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
      AND {NOT_EXTENSION_MEMBER.format(catalog="'pg_type'", oid="t.oid")}) AS types,
  (SELECT count(*) FROM pg_namespace AS n WHERE {USER_SCHEMA} AND n.nspname <> 'public'
      AND n.nspname <> '{AMCHECK_SCHEMA}'
      AND {NOT_EXTENSION_MEMBER.format(catalog="'pg_namespace'", oid="n.oid")}) AS schemas,
  (SELECT count(*) FROM pg_constraint AS k JOIN pg_namespace AS n ON n.oid = k.connamespace
    WHERE {USER_SCHEMA}) AS constraints,
  (SELECT count(*) FROM pg_description AS d JOIN pg_class AS c
      ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid
    JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE {USER_SCHEMA}) AS comments,
  (SELECT count(*) FROM pg_extension AS e JOIN pg_namespace AS n ON n.oid = e.extnamespace
    WHERE n.nspname <> '{AMCHECK_SCHEMA}') AS extensions,
  (SELECT count(*) FROM pg_largeobject_metadata) AS large_objects
"""

# Key types whose values can be spread by arithmetic (``_probe_keys``), as format_type names
# them.
INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})

KEY_COLUMNS_QUERY = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_index AS i JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = %s AND i.indisprimary
ORDER BY array_position(i.indkey::int2[], a.attnum)
"""

COLUMNS_QUERY = """
SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped
ORDER BY attnum
"""

Cursor = psycopg.Cursor[tuple[Any, ...]]


@dataclass(frozen=True)
class Table:
    """A table of the application: its oid, schema, name and kind (``r`` or ``p``)."""

    oid: int
    schema: str
    name: str
    kind: str

    @property
    def label(self) -> str:
        """The name in facts: bare in ``public``, schema-qualified elsewhere (``table_label``)."""
        return table_label(self.schema, self.name)

    def from_clause(self) -> sql.Composable:
        """``ONLY schema.name`` for plain tables (children are counted on their own)."""
        identifier = sql.Identifier(self.schema, self.name)
        return identifier if self.kind == "p" else sql.SQL("ONLY {}").format(identifier)


def list_tables(cursor: Cursor) -> list[Table]:
    """Return the application's tables and partitioned tables."""
    cursor.execute(TABLES_QUERY)
    return [Table(*row) for row in cursor.fetchall()]


def read_facts(
    cursor: Cursor,
    tables: Sequence[Table],
    key_tables: Sequence[str],
    sample_rows: int,
    expected: Facts | None,
    counted: Collection[str] | None = None,
) -> Facts:
    """Return the facts of ``tables`` (row counts of plain tables), objects and samples.

    With ``expected``, the sampled rows are the ones it names; otherwise ``sample_rows`` rows
    evenly spread in key order. With ``counted``, only those tables' rows are counted (a
    backup counts the others' rows in its dump stream).
    """
    chosen = [table for table in tables if counted is None or table.label in counted]
    counts = count_rows(cursor, chosen)
    by_label = {table.label: table for table in tables}
    samples = {}
    for label in key_tables:
        if label in by_label:
            table = by_label[label]
            wanted = expected.samples.get(label) if expected else None
            if expected is None:
                samples[label] = _pick_samples(cursor, table, counts.get(label), sample_rows)
            elif wanted is not None:
                samples[label] = _lookup(cursor, table, wanted)
    return Facts(tables=counts, samples=samples, objects=count_objects(cursor))


def count_rows(cursor: Cursor, tables: Sequence[Table]) -> dict[str, int]:
    """Return the row count of each plain table of ``tables``."""
    counts: dict[str, int] = {}
    for table in tables:
        if table.kind == "r":
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(table.from_clause()))
            counts[table.label] = _single(cursor)
    return counts


def count_objects(cursor: Cursor) -> dict[str, int]:
    """Return the number of each kind of object of the application."""
    cursor.execute(OBJECTS_QUERY)
    row = cursor.fetchone()
    assert row is not None and cursor.description is not None  # noqa: S101 - one row always
    return {column.name: int(value) for column, value in zip(cursor.description, row, strict=True)}


def _single(cursor: Cursor) -> int:
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _key_columns(cursor: Cursor, table: Table) -> list[tuple[str, str]]:
    cursor.execute(KEY_COLUMNS_QUERY, (table.oid,))
    return [(name, type_name) for name, type_name in cursor.fetchall()]


def _columns(cursor: Cursor, table: Table) -> list[str]:
    cursor.execute(COLUMNS_QUERY, (table.oid,))
    return [name for (name,) in cursor.fetchall()]


def _as_text(names: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(name)) for name in names)


def _pick_samples(
    cursor: Cursor, table: Table, row_count: int | None, sample_rows: int
) -> SampledRows:
    """Choose rows evenly spread in primary-key order (physical order without a key); with
    one integer key, spread over its values when that gives enough rows (``_probe_keys``)."""
    if row_count is None:  # a partitioned table: its rows are those of its partitions
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(table.from_clause()))
        row_count = _single(cursor)
    key_columns = _key_columns(cursor, table)
    if len(key_columns) == 1 and key_columns[0][1] in INTEGER_TYPES:
        probed = _probe_keys(cursor, table, key_columns[0][0], sample_rows)
        if 2 * len(probed) >= min(sample_rows, row_count):
            wanted = SampledRows(key_columns=[key_columns[0][0]], rows=dict.fromkeys(probed, ""))
            return _lookup(cursor, table, wanted)
    step = max(1, row_count // sample_rows)
    keys = [name for name, _type in key_columns]
    columns = _columns(cursor, table)
    chosen = keys or columns
    order: sql.Composable = sql.SQL("")
    if keys:
        order = sql.SQL("ORDER BY {}").format(sql.SQL(", ").join(map(sql.Identifier, keys)))
    query = sql.SQL(
        "SELECT {chosen_text} FROM (SELECT {chosen}, row_number() OVER ({order}) - 1 "
        "AS backproof_position FROM {table}) AS numbered "
        "WHERE backproof_position % {step} = 0 "
        "AND backproof_position < {limit} ORDER BY backproof_position"
    ).format(
        chosen_text=_as_text(chosen),
        chosen=sql.SQL(", ").join(map(sql.Identifier, chosen)),
        order=order,
        table=table.from_clause(),
        step=sql.Literal(step),
        limit=sql.Literal(step * sample_rows),
    )
    cursor.execute(query)
    picked = cursor.fetchall()
    if not keys:
        digests = [row_digest(columns, row) for row in picked]
        return SampledRows(key_columns=[], rows={digest: digest for digest in digests})
    wanted = SampledRows(key_columns=keys, rows={row_key(row): "" for row in picked})
    return _lookup(cursor, table, wanted)


def _probe_keys(cursor: Cursor, table: Table, key: str, sample_rows: int) -> list[str]:
    """Return the keys (``row_key``) of the first row at or after each of ``sample_rows``
    values evenly spread from the smallest key to the largest: one probe of the key's index
    each, where numbering every row in key order reads the whole index (0.4-0.7 s of the
    server's CPU for 1.45 million rows, beside the dump). Fewer when the keys are sparse."""
    query = sql.SQL(
        "SELECT found.key::text FROM (SELECT min({key}) AS low, max({key}) AS high FROM {table})"
        " AS bounds, generate_series(0, {count} - 1) AS step(i) CROSS JOIN LATERAL"
        " (SELECT {key} AS key FROM {table} WHERE {key} >= floor(bounds.low::numeric"
        " + (bounds.high::numeric - bounds.low::numeric) * step.i / {count})::bigint"
        " ORDER BY {key} LIMIT 1) AS found GROUP BY found.key ORDER BY found.key"
    ).format(key=sql.Identifier(key), table=table.from_clause(), count=sql.Literal(sample_rows))
    cursor.execute(query)
    return [row_key(row) for row in cursor.fetchall()]


def _lookup(cursor: Cursor, table: Table, wanted: SampledRows) -> SampledRows:
    """Return the checksums of the rows ``wanted`` names, found by their keys.

    Without key columns the rows are named by their checksums: every row is read and those
    present are returned.
    """
    columns = _columns(cursor, table)
    if not wanted.key_columns:
        return _lookup_by_digest(cursor, table, columns, wanted)
    types = dict(_key_columns(cursor, table))
    keys = wanted.key_columns
    if any(name not in types for name in keys):
        return SampledRows(key_columns=keys, rows={})
    aliases = [sql.Identifier(f"k{index}") for index in range(len(keys))]
    query = sql.SQL(
        "SELECT {keys_text}, {columns_text} FROM {table} WHERE ({keys}) IN "
        "(SELECT {casts} FROM unnest({arrays}) AS wanted({aliases}))"
    ).format(
        keys_text=_as_text(keys),
        columns_text=_as_text(columns),
        table=table.from_clause(),
        keys=sql.SQL(", ").join(map(sql.Identifier, keys)),
        casts=sql.SQL(", ").join(
            sql.SQL("{}::{}").format(alias, sql.SQL(types[name]))
            for alias, name in zip(aliases, keys, strict=True)
        ),
        arrays=sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in keys),
        aliases=sql.SQL(", ").join(aliases),
    )
    values = [json.loads(key) for key in wanted.rows]
    cursor.execute(query, [[value[index] for value in values] for index in range(len(keys))])
    rows = {}
    for row in cursor.fetchall():
        rows[row_key(row[: len(keys)])] = row_digest(columns, row[len(keys) :])
    return SampledRows(key_columns=keys, rows=rows)


def _lookup_by_digest(
    cursor: Cursor, table: Table, columns: list[str], wanted: SampledRows
) -> SampledRows:
    query = sql.SQL("SELECT {} FROM {}").format(_as_text(columns), table.from_clause())
    found = {}
    for row in cursor.stream(query):  # row by row: memory stays flat on a big table
        digest = row_digest(columns, row)
        if digest in wanted.rows:
            found[digest] = digest
    return SampledRows(key_columns=[], rows=found)
