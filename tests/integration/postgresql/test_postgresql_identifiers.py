"""Tables whose names hold dots: two tables stay two tables from the dump to the verify."""

from __future__ import annotations

import io
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
