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
from backproof.errors import SourceError, UsageError
from backproof.sources.base import DatabaseSource, ScratchServer, largest_first, scratch_name
from backproof.sources.registry import open_database, open_server
from backproof.sources.sqlite import sqlite_path, sqlite_url

KEY_TABLES = ["companies", "contacts"]


@dataclass
class Engine:
    """One engine of the contract: a CRM database, an empty one, and where scratches go."""

    name: str
    crm_url: str
    empty_url: str
    scratch_server: str

    def source(self, url: str | None = None) -> DatabaseSource:
        return open_database(url or self.crm_url)

    def server(self) -> ScratchServer:
        return open_server(self.scratch_server)


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
    yield Engine(request.param, server.url(crm), server.url(empty), server.url(crm))
    server.clean_up()


def test_dump_restores_into_a_scratch_database_with_the_same_facts(engine: Engine) -> None:
    server, dump = engine.server(), io.BytesIO()
    info = engine.source().dump(dump, KEY_TABLES, 5)
    name = scratch_name("contract", "20260101T000000Z", "c0ffee")
    scratch = server.create_scratch(name)
    try:
        dump.seek(0)
        scratch.restore(dump, info.format)
        restored = scratch.inspect(info.facts)
    finally:
        server.drop_scratch(name)

    assert compare_database_facts(info.facts, restored) == []
    assert sorted(restored.samples) == KEY_TABLES
    assert info.facts.tables["companies"] > 0


def test_scratch_database_starts_empty_and_is_gone_once_dropped(engine: Engine) -> None:
    server = engine.server()
    name = scratch_name("contract", "20260101T000000Z", "0b0b0b")
    scratch = server.create_scratch(name)

    assert scratch.is_empty()
    server.drop_scratch(name)
    assert scratch.is_empty()
    assert server.drop_leftover_scratches() == []


def test_database_with_tables_is_not_empty(engine: Engine) -> None:
    assert not engine.source().is_empty()


def test_database_without_tables_is_refused(engine: Engine) -> None:
    with pytest.raises(SourceError, match="has no tables"):
        engine.source(engine.empty_url).dump(io.BytesIO(), [], 5)


def test_missing_key_table_is_named(engine: Engine) -> None:
    with pytest.raises(SourceError, match="key table invoices not in"):
        engine.source().dump(io.BytesIO(), ["companies", "invoices"], 5)


def test_source_makes_its_scratch_databases_where_it_says(engine: Engine, tmp_path: Path) -> None:
    server = engine.source().scratch_server(tmp_path / "state")
    name = scratch_name("contract", "20260101T000000Z", "5ca1ab")
    scratch = server.create_scratch(name)
    try:
        assert scratch.is_empty()
        in_private_state = any((tmp_path / "state" / "verify").glob(f"{name}*"))
    finally:
        server.drop_scratch(name)

    # A file-based engine keeps its copies in backproof's private state, a server beside the
    # source's database.
    assert in_private_state == (engine.name == "sqlite")


def test_database_says_it_is_reachable_and_lists_its_tables_largest_first(engine: Engine) -> None:
    source = engine.source()

    line = source.describe_reachability()
    sizes = source.list_table_sizes()

    assert " reachable (" in line or " readable (" in line
    assert set(KEY_TABLES) <= {table.name for table in sizes}
    assert sizes == largest_first(sizes)


def test_only_a_server_has_a_verify_user_to_judge_and_to_set_up(engine: Engine) -> None:
    server = engine.server()

    problems = server.verify_user_problems()

    if engine.name == "sqlite":
        assert problems is None
        with pytest.raises(UsageError, match="no user to set up"):
            server.verify_user_script("backproof_verify", "pw", "%")
    else:
        assert isinstance(problems, list)
        script = server.verify_user_script("backproof_verify", "pw", "%")
        assert "backproof_verify" in script.sql
        assert 'url = "' in script.config


def test_a_server_without_binary_log_standbys_or_wal_archive_gives_verify_no_warning(
    engine: Engine,
) -> None:
    # The shared servers log no binary, stream to no standby and archive no WAL; servers that
    # do: test_mysql_binary_log.py, postgresql/test_postgresql_wal.py.
    assert engine.server().verify_warnings() == []


def test_one_database_has_one_identity_however_its_url_is_spelled(engine: Engine) -> None:
    spelled_otherwise = engine.crm_url.replace("127.0.0.1", "localhost").replace("/./", "/")
    if engine.name == "sqlite":
        path = sqlite_path(engine.crm_url)
        spelled_otherwise = sqlite_url(path.parent / "." / path.name)

    same = open_database(spelled_otherwise).identity()

    assert same == engine.source().identity()
    assert engine.source(engine.empty_url).identity() != same
