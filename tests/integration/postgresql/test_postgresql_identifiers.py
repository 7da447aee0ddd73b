"""Tables whose names hold dots: two tables stay two tables from the dump to the verify."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from pg_servers import PgServer

from backproof.comparison import compare_database_facts
from backproof.sources.base import scratch_name
from backproof.sources.postgresql import PostgresqlSource


@pytest.fixture
def scratch(pg: PgServer) -> Iterator[tuple[PostgresqlSource, str]]:
    """A source on the shared server and a scratch database made by it (dropped after)."""
    source = PostgresqlSource(pg.url("postgres"))
    url = source.create_scratch(None, scratch_name("bptest", "20260101T000000Z", "1d3f17"))
    yield source, url
    source.drop_scratch(url)


def test_table_b_of_schema_a_and_table_a_dot_b_of_public_are_two_tables(
    pg: PgServer, scratch: tuple[PostgresqlSource, str]
) -> None:
    database = pg.create_database(crm=False)
    with pg.connect(database) as connection:
        connection.execute("CREATE SCHEMA a; CREATE TABLE a.b (id int PRIMARY KEY)")
        connection.execute('CREATE TABLE public."a.b" (id int PRIMARY KEY)')
        connection.execute("INSERT INTO a.b VALUES (1)")
        connection.execute('INSERT INTO public."a.b" VALUES (1), (2), (3)')
    dump = io.BytesIO()
    info = PostgresqlSource(pg.url(database)).dump(dump, ['"a.b"'], 5)
    source, url = scratch
    dump.seek(0)
    source.restore(dump, url, info.format)

    restored = source.inspect(url, info.facts)

    assert info.facts.tables == {"a.b": 1, '"a.b"': 3}
    assert set(info.facts.digests) == {"a.b", '"a.b"'}
    assert set(info.facts.samples) == {'"a.b"'}
    assert compare_database_facts(info.facts, restored) == []
