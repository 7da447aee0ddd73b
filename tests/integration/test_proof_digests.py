"""The digest of every table, read from the dump stream and checked after restore: one suite,
run against PostgreSQL and MariaDB (SQLite's is tests/unit/sources/test_sqlite_digests.py)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from mariadb_server import MariaServer
from mariadb_server import shared_server as shared_mariadb
from pg_servers import PgServer
from pg_servers import shared_server as shared_postgresql

from backproof.comparison import compare_database_facts
from backproof.sources.mysql_digests import TUPLE_SUM_METHOD
from backproof.sources.mysql_stream import DumpScanner
from backproof.sources.registry import open_database
from scratch_databases import Scratch, scratch_database


@dataclass
class Engine:
    """One server engine: its digest method, and one row's value as its dump prints it."""

    server: PgServer | MariaServer
    admin_database: str
    digest_method: str
    printed_value: str  # "událost 137" as it stands in the dump, and then tampered to 731
    tampered_table: tuple[str, int]  # the table that row is in, and its rows

    def url(self, database: str) -> str:
        """Return the URL of ``database`` as the administrator."""
        return self.server.url(database)


@pytest.fixture(params=["postgresql", "mariadb"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Each server engine in turn; what a test makes on it is dropped afterwards."""
    if request.param == "postgresql":
        chosen = Engine(
            shared_postgresql(),
            "postgres",
            "postgresql-copy-text-xxh3-64-sum",
            "událost {}\n",
            ("sales.events_2025", 213),
        )
    else:
        chosen = Engine(
            shared_mariadb(),
            "mysql",
            "mysql-dump-pk-order-xxh3-128",
            "'událost {}')",
            ("deal_events", 400),
        )
    yield chosen
    chosen.server.clean_up()


@pytest.fixture
def scratch(engine: Engine) -> Iterator[Scratch]:
    """A scratch database on the engine's server (dropped after)."""
    with scratch_database(engine.url(engine.admin_database)) as made:
        yield made


def test_dump_records_a_digest_of_every_table_with_its_row_count(engine: Engine) -> None:
    database = engine.server.create_database(big_rows=100)
    facts = open_database(engine.url(database)).dump(io.BytesIO(), ["companies"], 5).facts

    assert set(facts.digests) == set(facts.tables)
    assert {table: digest.rows for table, digest in facts.digests.items()} == facts.tables
    assert facts.digest_method == engine.digest_method


def test_restored_copy_has_the_digests_of_the_dump(engine: Engine, scratch: Scratch) -> None:
    database = engine.server.create_database(big_rows=100)
    dump = io.BytesIO()
    info = open_database(engine.url(database)).dump(dump, ["companies"], 5)
    dump.seek(0)
    scratch.database.restore(dump, info.format)

    restored = scratch.database.inspect(info.facts)

    assert restored.digests == info.facts.digests
    assert compare_database_facts(info.facts, restored) == []


def test_restored_copy_has_the_digests_of_an_older_mariadb_manifest() -> None:
    server = shared_mariadb()
    database = server.create_database(big_rows=100)
    dump = io.BytesIO()
    info = open_database(server.url(database)).dump(dump, ["companies"], 5)
    older = DumpScanner({}, 0, TUPLE_SUM_METHOD)  # the digests as the older version made them
    older.feed(dump.getvalue())
    older.finish()
    digests, _warnings = older.digests.result(info.facts.tables)
    expected = info.facts.model_copy(update={"digests": digests, "digest_method": TUPLE_SUM_METHOD})
    try:
        with scratch_database(server.url("mysql")) as scratch:
            dump.seek(0)
            scratch.database.restore(dump, info.format)

            restored = scratch.database.inspect(expected)
    finally:
        server.clean_up()

    assert restored.digest_method == TUPLE_SUM_METHOD
    assert restored.digests == digests != info.facts.digests
    assert compare_database_facts(expected, restored) == []


def test_value_changed_in_one_row_of_a_non_key_table_is_named(
    engine: Engine, scratch: Scratch
) -> None:
    database = engine.server.create_database()
    dump = io.BytesIO()
    info = open_database(engine.url(database)).dump(dump, ["companies"], 5)
    original = engine.printed_value.format(137).encode()
    assert dump.getvalue().count(original) == 1
    tampered = engine.printed_value.format(731).encode()
    scratch.database.restore(io.BytesIO(dump.getvalue().replace(original, tampered)), info.format)

    differences = compare_database_facts(info.facts, scratch.database.inspect(info.facts))

    table, rows = engine.tampered_table
    assert differences == [
        f"table {table}: content differs from the dump in at least one of its {rows} rows"
    ]
