"""PostgreSQL checks of a restored copy: amcheck on every B-tree index, application queries."""

from __future__ import annotations

import pytest
from pg_servers import PgServer

from backproof.errors import SourceError
from backproof.sources.registry import open_database

EVERY_TABLE = 1 << 40


def test_amcheck_checks_every_btree_index_of_the_crm(pg: PgServer) -> None:
    database = pg.create_database()
    source = open_database(pg.url(database))

    report = source.check_integrity(EVERY_TABLE)

    assert report.problems == []
    assert report.what == "indexes"
    assert report.checked >= 8


def test_amcheck_on_two_connections_checks_the_same_indexes(pg: PgServer) -> None:
    source = open_database(pg.url(pg.create_database()))

    one, two = source.check_integrity(EVERY_TABLE), source.check_integrity(EVERY_TABLE, 2)

    assert two == one
    assert two.checked >= 8


@pytest.mark.parametrize("jobs", [1, 2])
def test_amcheck_names_an_index_that_lost_rows_of_its_table(pg: PgServer, jobs: int) -> None:
    database = pg.create_database()
    with pg.connect(database) as connection:
        # An index on a function that changes after the index was built: the index no longer
        # holds what its table's rows say it should, which heapallindexed proves.
        connection.execute(
            "CREATE FUNCTION shifted(integer) RETURNS integer IMMUTABLE LANGUAGE sql AS 'SELECT $1'"
        )
        connection.execute("CREATE TABLE ledger (id integer)")
        connection.execute("INSERT INTO ledger SELECT generate_series(1, 1000)")
        connection.execute("CREATE INDEX ledger_shifted ON ledger (shifted(id))")
        connection.execute(
            "CREATE OR REPLACE FUNCTION shifted(integer) RETURNS integer IMMUTABLE "
            "LANGUAGE sql AS 'SELECT $1 + 1'"
        )
        connection.commit()
    source = open_database(pg.url(database))

    report = source.check_integrity(EVERY_TABLE, jobs)

    assert len(report.problems) == 1
    assert report.problems[0].startswith("index public.ledger_shifted: ")
    assert report.checked >= 9  # the CRM's indexes too, shared out over the connections


def test_application_query_reads_the_database_but_cannot_write(pg: PgServer) -> None:
    database = pg.create_database()
    source = open_database(pg.url(database))

    assert source.query_value("SELECT count(*) FROM companies", 5) == 300
    with pytest.raises(SourceError, match="read-only transaction"):
        source.query_value("DELETE FROM companies RETURNING 1", 5)


def test_application_query_is_cancelled_after_its_timeout(pg: PgServer) -> None:
    database = pg.create_database(crm=False)
    source = open_database(pg.url(database))

    with pytest.raises(SourceError, match="statement timeout"):
        source.query_value("SELECT pg_sleep(5)", 0.2)
