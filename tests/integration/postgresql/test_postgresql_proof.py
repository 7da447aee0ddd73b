"""PostgreSQL proofs beyond the shared suite (tests/integration/test_proof_digests.py): the
digest of an empty table, a table read once by a backup and once by the proof of its
restored copy, and the digests of a backup made before the 64-bit method, proved with theirs."""

from __future__ import annotations

import io
import time

import pytest
from pg_servers import PgServer

from backproof.archive.manifest import Facts
from backproof.comparison import compare_database_facts
from backproof.errors import SourceError
from backproof.sources.postgresql_archive import LINE_METHOD_128, ArchiveDigester
from backproof.sources.registry import open_database
from scratch_databases import scratch_database


def test_an_empty_table_has_the_digest_of_no_rows(pg: PgServer) -> None:
    database = pg.create_database()
    facts = open_database(pg.url(database)).dump(io.BytesIO(), ["companies"], 5).facts

    assert facts.digests["empty_table"].rows == 0
    assert facts.digests["empty_table"].digest == "0" * 16


def table_scans(pg: PgServer, database: str) -> dict[str, int]:
    """Return how many scans (sequential and by index) each table has had."""
    query = "SELECT relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables"
    with pg.connect(database) as connection:
        return {str(name): int(scans) for name, scans in connection.execute(query)}


def wait_for_scans(
    pg: PgServer, database: str, before: dict[str, int], least: dict[str, int]
) -> dict[str, int]:
    """Return the scans of every table once each table of ``least`` shows at least that many
    more than ``before``: each backend's statistics reach the others when it ends, so a wait
    must name a table of every backend whose scans the test counts."""
    deadline = time.monotonic() + 10

    def short(after: dict[str, int]) -> bool:
        return any(after.get(name, 0) - before.get(name, 0) < n for name, n in least.items())

    while short(after := table_scans(pg, database)):
        assert time.monotonic() < deadline, "the scans never showed in the statistics"
        time.sleep(0.1)
    return after


def test_a_backup_reads_a_table_that_is_not_a_key_table_once(pg: PgServer) -> None:
    database = pg.create_database(big_rows=100)
    before = table_scans(pg, database)

    facts = open_database(pg.url(database)).dump(io.BytesIO(), ["companies"], 5).facts

    # pg_dump's backend scans audit_log, backproof's own connection the key table companies
    after = wait_for_scans(pg, database, before, {"companies": 3, "audit_log": 1})
    assert after["audit_log"] - before["audit_log"] == 1  # pg_dump's COPY, no count(*)
    assert facts.tables["audit_log"] == facts.digests["audit_log"].rows


def test_the_proof_of_a_restored_copy_reads_a_table_that_is_not_a_key_table_once(
    pg: PgServer,
) -> None:
    source = open_database(pg.url(pg.create_database(big_rows=100)))
    dump = io.BytesIO()
    info = source.dump(dump, ["companies"], 5)
    with scratch_database(pg.url("postgres")) as scratch:
        dump.seek(0)
        scratch.database.restore(dump, info.format)
        time.sleep(1)  # the restore's own statistics settle first
        before = table_scans(pg, scratch.name)

        facts = scratch.database.inspect(info.facts)

        after = wait_for_scans(pg, scratch.name, before, {"audit_log": 1})
    assert after["audit_log"] - before.get("audit_log", 0) == 1  # pg_dump's COPY, no count(*)
    assert facts.tables == info.facts.tables
    assert facts.digests == info.facts.digests


def with_old_digests(facts: Facts, archive: bytes) -> Facts:
    """Return ``facts`` as a backup made before 2026-12-01 recorded them: 128-bit digests."""
    digester = ArchiveDigester(LINE_METHOD_128)
    digester.feed(archive)
    return facts.model_copy(update={"digests": digester.finish(), "digest_method": LINE_METHOD_128})


def test_digests_of_an_older_method_are_proved_with_that_method(pg: PgServer) -> None:
    source = open_database(pg.url(pg.create_database(big_rows=100)))
    dump = io.BytesIO()
    info = source.dump(dump, ["companies"], 5)
    old = with_old_digests(info.facts, dump.getvalue())
    assert old.digests["audit_log"].digest != info.facts.digests["audit_log"].digest
    with scratch_database(pg.url("postgres")) as scratch:
        dump.seek(0)
        scratch.database.restore(dump, info.format)

        restored = scratch.database.inspect(old)

    assert restored.digest_method == LINE_METHOD_128
    assert restored.digests == old.digests
    assert compare_database_facts(old, restored) == []


def test_digests_of_an_unknown_method_fail_the_proof_with_one_line(pg: PgServer) -> None:
    source = open_database(pg.url(pg.create_database()))
    dump = io.BytesIO()
    info = source.dump(dump, ["companies"], 5)
    newer = info.facts.model_copy(update={"digest_method": "postgresql-copy-text-sha3-512-sum"})
    with scratch_database(pg.url("postgres")) as scratch:
        dump.seek(0)
        scratch.database.restore(dump, info.format)

        with pytest.raises(SourceError, match=r"sha3-512-sum.*cannot compute: upgrade"):
            scratch.database.inspect(newer)
