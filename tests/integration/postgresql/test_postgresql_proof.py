"""PostgreSQL proofs: a digest of every table, read from the dump stream, checked after restore."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from pg_servers import PgServer

from backproof.comparison import compare_database_facts
from backproof.sources.registry import open_database
from scratch_databases import Scratch, scratch_database


@pytest.fixture
def scratch(pg: PgServer) -> Iterator[Scratch]:
    """A scratch database on the shared server (dropped after)."""
    with scratch_database(pg.url("postgres")) as made:
        yield made


def test_dump_records_a_digest_of_every_table_with_its_row_count(pg: PgServer) -> None:
    database = pg.create_database(big_rows=100)
    facts = open_database(pg.url(database)).dump(io.BytesIO(), ["companies"], 5).facts

    assert set(facts.digests) == set(facts.tables)
    assert {table: digest.rows for table, digest in facts.digests.items()} == facts.tables
    assert facts.digest_method == "postgresql-copy-text-xxh3-128-sum"
    assert facts.digests["empty_table"].digest == "0" * 32


def test_restored_copy_has_the_digests_of_the_dump(pg: PgServer, scratch: Scratch) -> None:
    database = pg.create_database(big_rows=100)
    dump = io.BytesIO()
    info = open_database(pg.url(database)).dump(dump, ["companies"], 5)
    dump.seek(0)
    scratch.database.restore(dump, info.format)

    restored = scratch.database.inspect(info.facts)

    assert restored.digests == info.facts.digests
    assert compare_database_facts(info.facts, restored) == []


def test_value_changed_in_one_row_of_a_non_key_table_is_named(
    pg: PgServer, scratch: Scratch
) -> None:
    database = pg.create_database()
    dump = io.BytesIO()
    info = open_database(pg.url(database)).dump(dump, ["companies"], 5)
    original = "událost 137\n".encode()
    assert dump.getvalue().count(original) == 1
    tampered = io.BytesIO(dump.getvalue().replace(original, "událost 731\n".encode()))
    scratch.database.restore(tampered, info.format)

    differences = compare_database_facts(info.facts, scratch.database.inspect(info.facts))

    assert differences == [
        "table sales.events_2025: content differs from the dump in at least one of its 213 rows"
    ]


def table_scans(pg: PgServer, database: str) -> dict[str, int]:
    """Return how many scans (sequential and by index) each table has had."""
    query = "SELECT relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables"
    with pg.connect(database) as connection:
        return {str(name): int(scans) for name, scans in connection.execute(query)}


def test_a_backup_reads_a_table_that_is_not_a_key_table_once(pg: PgServer) -> None:
    database = pg.create_database(big_rows=100)
    before = table_scans(pg, database)

    facts = open_database(pg.url(database)).dump(io.BytesIO(), ["companies"], 5).facts

    deadline = time.monotonic() + 10
    while (after := table_scans(pg, database))["companies"] - before["companies"] < 3:
        assert time.monotonic() < deadline, "the backup's scans never showed in the statistics"
        time.sleep(0.1)  # a backend's statistics reach the others when it ends
    assert after["audit_log"] - before["audit_log"] == 1  # pg_dump's COPY, no count(*)
    assert facts.tables["audit_log"] == facts.digests["audit_log"].rows
