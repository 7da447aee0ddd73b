"""The read-back of a restored MariaDB copy for its digests: its text read as stored bytes where
that prints the same, its row counts, and a table read again as the backup read it; and the
dump's output written a MiB at a time, by the backup as by the read-back."""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mariadb_server import WAIT_SECONDS, MariaServer

from backproof.archive.manifest import Facts
from backproof.comparison import compare_database_facts
from backproof.process import Command
from backproof.sources import mysql as mysql_module
from backproof.sources import mysql_catalog, mysql_tools
from backproof.sources.base import DumpInfo
from backproof.sources.mysql import MysqlSource
from backproof.sources.mysql_tools import DumpScope, dump_command
from backproof.sources.registry import open_database
from backproof.sources.server_urls import parse_server_url
from scratch_databases import Scratch, scratch_database

KEY_TABLES = ["companies", "contacts"]
# How mariadb-dump's query of a table's rows starts.
DUMP_QUERY = "SELECT /*!40001 SQL_NO_CACHE */"


@pytest.fixture
def scratch(maria: MariaServer) -> Iterator[Scratch]:
    """A scratch database on the shared server (dropped after)."""
    with scratch_database(maria.url("mysql")) as made:
        yield made


def restored_crm(maria: MariaServer, scratch: Scratch, big_rows: int = 300) -> DumpInfo:
    """Back up a CRM database (``big_rows`` in big_table) and restore it into ``scratch``;
    return the backup's facts."""
    database = maria.create_database(big_rows=big_rows)
    dump = io.BytesIO()
    info = open_database(maria.url(database)).dump(dump, KEY_TABLES, 20)
    dump.seek(0)
    scratch.database.restore(dump, info.format)
    return info


def test_text_tables_are_those_without_binary_columns_or_other_character_sets(
    maria: MariaServer,
) -> None:
    database = maria.create_database(crm=False)
    maria.run_sql(
        database,
        "CREATE TABLE plain (id INT PRIMARY KEY, name VARCHAR(20), body TEXT, at DATETIME, "
        "amount DECIMAL(9, 2), kind ENUM('a', 'b'), doc JSON);\n"
        "CREATE TABLE old_utf8 (id INT PRIMARY KEY, name VARCHAR(20) CHARACTER SET utf8mb3);\n"
        "CREATE TABLE codes (id INT PRIMARY KEY, code CHAR(3) CHARACTER SET ascii);\n"
        "CREATE TABLE western (id INT PRIMARY KEY, name VARCHAR(20) CHARACTER SET latin1);\n"
        "CREATE TABLE blobs (id INT PRIMARY KEY, data VARBINARY(10));\n"
        "CREATE TABLE flags (id INT PRIMARY KEY, bits BIT(3));\n"
        "CREATE TABLE places (id INT PRIMARY KEY, spot POINT);\n"
        "CREATE TABLE bytes_text (id INT PRIMARY KEY, name VARCHAR(20) CHARACTER SET binary);\n",
    )
    with maria.connect(database) as connection:
        tables = mysql_catalog.text_tables(connection, database)

    assert tables == {"plain", "old_utf8", "codes"}


def test_read_back_dumps_with_text_as_bytes_and_names_tables_after_a_double_dash() -> None:
    server = parse_server_url("mysql://root@127.0.0.1:3306/shop")

    whole = dump_command("mariadb-dump", (), server).argv
    as_bytes = dump_command(
        "mariadb-dump", (), server, DumpScope(ignored=("a",), text_as_bytes=True)
    )
    named = dump_command("mariadb-dump", (), server, DumpScope(tables=("-a", "b"))).argv

    assert "--hex-blob" in whole and "--default-character-set=utf8mb4" in whole
    assert whole[-1] == "shop"
    assert "--skip-hex-blob" in as_bytes.argv and "--hex-blob" not in as_bytes.argv
    assert "--default-character-set=binary" in as_bytes.argv
    assert "--ignore-table=shop.a" in as_bytes.argv
    assert named[-4:] == ("--", "shop", "-a", "b")


def test_restored_copy_is_counted_by_its_read_back_without_count_queries(
    maria: MariaServer, scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = restored_crm(maria, scratch)

    def no_count(_cursor: object, tables: object) -> dict[str, int]:
        raise AssertionError(f"COUNT(*) of {tables}")

    monkeypatch.setattr(mysql_catalog, "count_table_rows", no_count)
    restored = scratch.database.inspect(info.facts)

    assert restored.tables == info.facts.tables
    assert restored.tables["big_table"] == 300
    assert compare_database_facts(info.facts, restored) == []


def test_restored_copy_without_digests_is_still_counted_by_count_queries(
    maria: MariaServer, scratch: Scratch
) -> None:
    info = restored_crm(maria, scratch)
    expected = info.facts.model_copy(update={"digests": {}, "digest_method": ""})

    restored = scratch.database.inspect(expected)

    assert restored.tables == info.facts.tables
    assert restored.digests == {}


def test_largest_table_is_read_back_by_a_dump_of_its_own_beside_the_others(
    maria: MariaServer, scratch: Scratch
) -> None:
    info = restored_crm(maria, scratch, big_rows=20_000)
    maria.execute("ANALYZE TABLE big_table", database=scratch.name)  # the largest, by the catalog
    restored: list[Facts] = []

    # big_table and audit_log locked: one dump waits at big_table while another reads the
    # other tables up to audit_log (one dump of everything would wait at audit_log alone).
    with contextlib.closing(maria.connect(scratch.name)) as holder, holder.cursor() as cursor:
        cursor.execute("LOCK TABLES big_table WRITE, audit_log WRITE")
        reading = threading.Thread(
            target=lambda: restored.append(scratch.database.inspect(info.facts))
        )
        reading.start()
        try:
            waiting = maria.wait_for_waiting(scratch.name, DUMP_QUERY, 2)
        finally:
            cursor.execute("UNLOCK TABLES")
            reading.join(WAIT_SECONDS)

    tables = [query.split("FROM ")[-1].split()[0] for query in waiting]
    assert tables == ["`audit_log`", "`big_table`"]
    assert restored and compare_database_facts(info.facts, restored[0]) == []
    assert restored[0].digests == info.facts.digests


def test_table_read_as_bytes_with_another_digest_is_read_again_as_the_backup_read_it(
    maria: MariaServer, scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = restored_crm(maria, scratch)
    # Every table taken for a text table: the binary columns of companies and contacts then
    # print as escaped strings, not in hex, and their digests differ from the backup's.
    everything = set(info.facts.tables)
    monkeypatch.setattr(mysql_catalog, "text_tables", lambda _connection, _database: everything)
    scopes: list[DumpScope] = []
    read_part = MysqlSource._read_part

    def recorded(self: MysqlSource, tool: str, scope: DumpScope, *rest: object) -> None:
        scopes.append(scope)
        read_part(self, tool, scope, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(MysqlSource, "_read_part", recorded)
    restored = scratch.database.inspect(info.facts)

    # Read first by two dumps at once (the largest table's and the rest's), both as bytes.
    assert [scope.text_as_bytes for scope in scopes] == [True, True, False]
    assert {"companies", "contacts"} <= set(scopes[2].tables)
    assert "big_table" not in scopes[2].tables
    assert restored.digests == info.facts.digests
    assert compare_database_facts(info.facts, restored) == []


def test_backup_dump_writes_its_output_a_mebibyte_at_a_time(
    maria: MariaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = maria.create_database(big_rows=50)
    started: list[tuple[str, ...]] = []
    real_pipeline = mysql_module.read_pipeline

    def recorded(commands: list[Command], consume: Any) -> None:
        started.extend(command.argv for command in commands)
        real_pipeline(commands, consume)

    monkeypatch.setattr(mysql_module, "read_pipeline", recorded)
    dump = io.BytesIO()
    info = open_database(maria.url(database)).dump(dump, KEY_TABLES, 5)

    assert len(started) == 1
    assert Path(started[0][0]).name == "stdbuf"
    assert started[0][1] == "--output=1M"
    assert Path(started[0][2]).name in mysql_tools.DUMP_TOOLS
    assert info.facts.tables["big_table"] == 50
    assert b"-- Dump completed" in dump.getvalue()[-200:]
