"""The one contract of a database source, run against SQLite, PostgreSQL and MariaDB.

What every engine promises the jobs: a dump restores into a temporary database with exactly the
facts the dump recorded; a temporary database starts empty and is gone once dropped; a database
without tables, or without a key table, is refused by name; the source says where its temporary
databases go. What only one engine does (large objects, definers, WAL files, markers) stays in
that engine's own tests.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mariadb_server import MariaServer
from mariadb_server import shared_server as shared_mariadb
from pg_servers import PgServer
from pg_servers import shared_server as shared_postgresql

from backproof.comparison import compare_database_facts
from backproof.demo import create_demo
from backproof.errors import SourceError
from backproof.sources.base import DatabaseSource, scratch_name
from backproof.sources.registry import open_source
from backproof.sources.sqlite import sqlite_url

KEY_TABLES = ["companies", "contacts"]


@dataclass
class Engine:
    """One engine of the contract: a CRM database, an empty one, and where scratches go."""

    name: str
    crm_url: str
    empty_url: str
    scratch_server: str | None

    def source(self, url: str | None = None) -> DatabaseSource:
        return open_source(url or self.crm_url)


def sqlite_engine(tmp_path: Path) -> Engine:
    demo = create_demo(tmp_path / "crm", companies=40)
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    return Engine(
        "sqlite", sqlite_url(demo.database), sqlite_url(empty), sqlite_url(tmp_path / "scratch")
    )


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """Each engine in turn; the databases a test makes on a server are dropped afterwards."""
    if request.param == "sqlite":
        yield sqlite_engine(tmp_path)
        return
    server: PgServer | MariaServer = (
        shared_postgresql() if request.param == "postgresql" else shared_mariadb()
    )
    crm, empty = server.create_database(), server.create_database(crm=False)
    yield Engine(request.param, server.url(crm), server.url(empty), None)
    server.clean_up()


def test_dump_restores_into_a_scratch_database_with_the_same_facts(engine: Engine) -> None:
    source, dump = engine.source(), io.BytesIO()
    info = source.dump(dump, KEY_TABLES, 5)
    scratch_url = source.create_scratch(
        engine.scratch_server, scratch_name("contract", "20260101T000000Z", "c0ffee")
    )
    try:
        dump.seek(0)
        source.restore(dump, scratch_url, info.format)
        restored = source.inspect(scratch_url, info.facts)
    finally:
        source.drop_scratch(scratch_url)

    assert compare_database_facts(info.facts, restored) == []
    assert sorted(restored.samples) == KEY_TABLES
    assert info.facts.tables["companies"] > 0


def test_scratch_database_starts_empty_and_is_gone_once_dropped(engine: Engine) -> None:
    source = engine.source()
    scratch_url = source.create_scratch(
        engine.scratch_server, scratch_name("contract", "20260101T000000Z", "0b0b0b")
    )

    assert source.is_empty(scratch_url)
    source.drop_scratch(scratch_url)
    assert source.drop_leftover_scratches(engine.scratch_server) == []


def test_database_with_tables_is_not_empty(engine: Engine) -> None:
    assert not engine.source().is_empty(engine.crm_url)


def test_database_without_tables_is_refused(engine: Engine) -> None:
    with pytest.raises(SourceError, match="has no tables"):
        engine.source(engine.empty_url).dump(io.BytesIO(), [], 5)


def test_missing_key_table_is_named(engine: Engine) -> None:
    with pytest.raises(SourceError, match="key table invoices not in"):
        engine.source().dump(io.BytesIO(), ["companies", "invoices"], 5)


def test_source_says_where_its_scratch_databases_go(engine: Engine, tmp_path: Path) -> None:
    where = engine.source().default_scratch_server(tmp_path / "state")

    expected = sqlite_url(tmp_path / "state" / "verify") if engine.name == "sqlite" else None
    assert where == expected
