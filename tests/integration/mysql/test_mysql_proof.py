"""MariaDB proofs: the digest of every table, read from the dump stream, checked after restore."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator

import pytest
from mariadb_server import MariaServer

from backproof.comparison import compare_database_facts
from backproof.sources.base import scratch_name
from backproof.sources.mysql import MysqlSource


@pytest.fixture
def scratch(maria: MariaServer) -> Iterator[tuple[MysqlSource, str]]:
    """A source on the server and a scratch database made by it (dropped after)."""
    source = MysqlSource(maria.url("mysql"))
    url = source.create_scratch(
        None, scratch_name("bptest", "20260101T000000Z", secrets.token_hex(3))
    )
    yield source, url
    source.drop_scratch(url)


def test_dump_records_a_digest_of_every_table_with_its_row_count(maria: MariaServer) -> None:
    database = maria.create_database(big_rows=100)
    facts = MysqlSource(maria.url(database)).dump(io.BytesIO(), ["companies"], 5).facts

    assert set(facts.digests) == set(facts.tables)
    assert {table: digest.rows for table, digest in facts.digests.items()} == facts.tables
    assert facts.digest_method == "mysql-dump-tuple-xxh3-128-sum"


def test_restored_copy_has_the_digests_of_the_dump(
    maria: MariaServer, scratch: tuple[MysqlSource, str]
) -> None:
    database = maria.create_database(big_rows=100)
    dump = io.BytesIO()
    info = MysqlSource(maria.url(database)).dump(dump, ["companies"], 5)
    source, url = scratch
    dump.seek(0)
    source.restore(dump, url, info.format)

    restored = source.inspect(url, info.facts)

    assert restored.digests == info.facts.digests
    assert compare_database_facts(info.facts, restored) == []


def test_value_changed_in_one_row_of_a_non_key_table_is_named(
    maria: MariaServer, scratch: tuple[MysqlSource, str]
) -> None:
    database = maria.create_database()
    dump = io.BytesIO()
    info = MysqlSource(maria.url(database)).dump(dump, ["companies"], 5)
    original = "'událost 137')".encode()
    assert dump.getvalue().count(original) == 1
    tampered = io.BytesIO(dump.getvalue().replace(original, "'událost 731')".encode()))
    source, url = scratch
    source.restore(tampered, url, info.format)

    differences = compare_database_facts(info.facts, source.inspect(url, info.facts))

    assert differences == [
        "table deal_events: content differs from the dump in at least one of its 400 rows"
    ]
