"""Tables whose names hold dots: two tables stay two tables from the dump to the verify."""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Iterator

import pytest
from pg_servers import PgServer
from test_postgresql_two_streams import MemoryPart, table_data

from backproof.comparison import compare_database_facts
from backproof.sources import postgresql_streams
from backproof.sources.base import RestoreOptions
from backproof.sources.registry import open_database
from scratch_databases import Scratch, scratch_database


@pytest.fixture
def scratch(pg: PgServer) -> Iterator[Scratch]:
    """A scratch database on the shared server (dropped after)."""
    with scratch_database(pg.url("postgres")) as made:
        yield made


def test_table_b_of_schema_a_and_table_a_dot_b_of_public_are_two_tables(
    pg: PgServer, scratch: Scratch
) -> None:
    database = pg.create_database(crm=False)
    with pg.connect(database) as connection:
        connection.execute("CREATE SCHEMA a; CREATE TABLE a.b (id int PRIMARY KEY)")
        connection.execute('CREATE TABLE public."a.b" (id int PRIMARY KEY)')
        connection.execute("INSERT INTO a.b VALUES (1)")
        connection.execute('INSERT INTO public."a.b" VALUES (1), (2), (3)')
    dump = io.BytesIO()
    info = open_database(pg.url(database)).dump(dump, ['"a.b"'], 5)
    dump.seek(0)
    scratch.database.restore(dump, info.format)

    restored = scratch.database.inspect(info.facts)

    assert info.facts.tables == {"a.b": 1, '"a.b"': 3}
    assert set(info.facts.digests) == {"a.b", '"a.b"'}
    assert set(info.facts.samples) == {'"a.b"'}
    assert compare_database_facts(info.facts, restored) == []


def test_tables_whose_names_hold_dots_quotes_and_capitals_split_into_two_streams_and_back(
    pg: PgServer, scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every table is large enough for the second stream; the largest, whose name a pg_dump
    # pattern would misread unquoted, goes there, and the first stream leaves its rows out.
    monkeypatch.setattr(postgresql_streams, "DATA_PART_MIN_BYTES", 64 * 1024)
    database = pg.create_database(crm=False)
    rows = "SELECT g, repeat('x', 200) FROM generate_series(1, {}) AS g"
    with pg.connect(database) as connection:
        connection.execute('CREATE SCHEMA "Sales.EU"')
        connection.execute('CREATE TABLE "Sales.EU"."Order ""x"".*" (id int PRIMARY KEY, t text)')
        connection.execute('CREATE TABLE public."a.b$" (id int PRIMARY KEY, t text)')
        connection.execute("CREATE TABLE small (id int PRIMARY KEY, t text)")
        connection.execute(f'INSERT INTO "Sales.EU"."Order ""x"".*" {rows.format(3000)}')
        connection.execute(f'INSERT INTO public."a.b$" {rows.format(2000)}')
        connection.execute(f"INSERT INTO small {rows.format(1000)}")
        connection.execute("VACUUM ANALYZE")
    first, second = io.BytesIO(), MemoryPart()
    info = open_database(pg.url(database)).dump(first, [], 5, second)

    first.seek(0)
    opener = functools.partial(contextlib.nullcontext, io.BytesIO(second.data.getvalue()))
    scratch.database.restore(first, info.format, RestoreOptions(data_part=opener))
    restored = scratch.database.inspect(info.facts)

    assert table_data(second.data.getvalue()) == {'"Sales.EU"."Order ""x"".*"'}
    assert '"Sales.EU"."Order ""x"".*"' not in table_data(first.getvalue())
    assert info.facts.tables == {'"Sales.EU"."Order ""x"".*"': 3000, '"a.b$"': 2000, "small": 1000}
    assert compare_database_facts(info.facts, restored) == []
