"""The rows a PostgreSQL backup samples from a key table, and what choosing them reads."""

from __future__ import annotations

import json

from pg_servers import PgServer

from backproof.sources import postgresql_catalog as catalog

ROWS = 20_000


def _table_with_keys(pg: PgServer, database: str, keys: str) -> None:
    with pg.connect(database) as connection:
        connection.execute("CREATE TABLE items (id bigint PRIMARY KEY, note text)")
        connection.execute(f"INSERT INTO items SELECT k, 'note ' || k FROM ({keys}) AS s(k)")
        connection.execute("ANALYZE items")


def _samples_and_index_reads(pg: PgServer, database: str, wanted: int) -> tuple[list[str], int]:
    """Return the keys sampled from ``items`` and the index entries the choice read."""
    with pg.connect(database) as connection:
        connection.autocommit = False
        cursor = connection.cursor()
        table = next(item for item in catalog.list_tables(cursor) if item.label == "items")
        facts = catalog.read_facts(cursor, [table], ["items"], wanted, None)
        # The entries scans of the key's index returned in this transaction.
        cursor.execute("SELECT pg_stat_get_xact_tuples_returned('items_pkey'::regclass)")
        row = cursor.fetchone()
        connection.rollback()
    return list(facts.samples["items"].rows), int(row[0]) if row else 0


def test_samples_of_an_integer_key_spread_over_its_values_read_few_index_entries(
    pg: PgServer,
) -> None:
    database = pg.create_database(crm=False)
    _table_with_keys(pg, database, f"SELECT generate_series(1, {ROWS})")

    keys, index_reads = _samples_and_index_reads(pg, database, 100)

    assert len(keys) == 100
    assert keys[0] == '["1"]'
    # The first row at or after 1 + 19,999 * i / 100 for i = 0..99.
    assert keys[1] == '["200"]' and keys[-1] == '["19800"]'
    # Numbering every row in key order read all 20,000 entries of the key's index.
    assert index_reads < ROWS // 10


def test_samples_of_sparse_integer_keys_are_still_spread_in_key_order(pg: PgServer) -> None:
    database = pg.create_database(crm=False)
    # Ten keys near zero, the rest a trillion away: spread over the values, the probes would
    # find eleven distinct rows, so the rows are numbered in key order as before.
    _table_with_keys(
        pg,
        database,
        f"SELECT generate_series(1, 10) UNION ALL SELECT 10^12 + generate_series(1, {ROWS})",
    )

    keys, _index_reads = _samples_and_index_reads(pg, database, 100)

    assert len(keys) == 100
    assert keys[0] == '["1"]'
    assert len(set(keys)) == 100


def test_samples_of_an_empty_table_are_none(pg: PgServer) -> None:
    database = pg.create_database(crm=False)
    _table_with_keys(pg, database, "SELECT 1 WHERE false")

    keys, _index_reads = _samples_and_index_reads(pg, database, 100)

    assert keys == []


def test_samples_are_found_again_by_their_keys_and_a_changed_one_is_seen(pg: PgServer) -> None:
    database = pg.create_database(crm=False)
    _table_with_keys(pg, database, f"SELECT generate_series(1, {ROWS})")
    with pg.connect(database) as connection:
        cursor = connection.cursor()
        tables = catalog.list_tables(cursor)
        taken = catalog.read_facts(cursor, tables, ["items"], 50, None)
        second = json.loads(sorted(taken.samples["items"].rows)[1])[0]
        connection.execute("UPDATE items SET note = 'changed' WHERE id = %s", (int(second),))
        again = catalog.read_facts(cursor, tables, ["items"], 50, taken)

    before, after = taken.samples["items"].rows, again.samples["items"].rows
    assert set(after) == set(before)
    assert [key for key in before if after[key] != before[key]] == [f'["{second}"]']
