"""MariaDB proofs: the digest of every table, read from the dump stream, checked after restore."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from mariadb_server import MariaServer

from backproof.comparison import compare_database_facts
from backproof.sources.registry import open_database
from scratch_databases import Scratch, scratch_database


@pytest.fixture
def scratch(maria: MariaServer) -> Iterator[Scratch]:
    """A scratch database on the shared server (dropped after)."""
    with scratch_database(maria.url("mysql")) as made:
        yield made


def test_dump_records_a_digest_of_every_table_with_its_row_count(maria: MariaServer) -> None:
    database = maria.create_database(big_rows=100)
    facts = open_database(maria.url(database)).dump(io.BytesIO(), ["companies"], 5).facts

    assert set(facts.digests) == set(facts.tables)
    assert {table: digest.rows for table, digest in facts.digests.items()} == facts.tables
    assert facts.digest_method == "mysql-dump-tuple-xxh3-128-sum"


def test_restored_copy_has_the_digests_of_the_dump(maria: MariaServer, scratch: Scratch) -> None:
    database = maria.create_database(big_rows=100)
    dump = io.BytesIO()
    info = open_database(maria.url(database)).dump(dump, ["companies"], 5)
    dump.seek(0)
    scratch.database.restore(dump, info.format)

    restored = scratch.database.inspect(info.facts)

    assert restored.digests == info.facts.digests
    assert compare_database_facts(info.facts, restored) == []


def test_value_changed_in_one_row_of_a_non_key_table_is_named(
    maria: MariaServer, scratch: Scratch
) -> None:
    database = maria.create_database()
    dump = io.BytesIO()
    info = open_database(maria.url(database)).dump(dump, ["companies"], 5)
    original = "'událost 137')".encode()
    assert dump.getvalue().count(original) == 1
    tampered = io.BytesIO(dump.getvalue().replace(original, "'událost 731')".encode()))
    scratch.database.restore(tampered, info.format)

    differences = compare_database_facts(info.facts, scratch.database.inspect(info.facts))

    assert differences == [
        "table deal_events: content differs from the dump in at least one of its 400 rows"
    ]
