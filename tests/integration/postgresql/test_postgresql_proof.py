"""PostgreSQL proofs beyond the shared suite (tests/integration/test_proof_digests.py): the
digest of an empty table, and a table read once by a backup."""

from __future__ import annotations

import io
import time

from pg_servers import PgServer

from backproof.sources.registry import open_database


def test_an_empty_table_has_the_digest_of_no_rows(pg: PgServer) -> None:
    database = pg.create_database()
    facts = open_database(pg.url(database)).dump(io.BytesIO(), ["companies"], 5).facts

    assert facts.digests["empty_table"].rows == 0
    assert facts.digests["empty_table"].digest == "0" * 32


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
