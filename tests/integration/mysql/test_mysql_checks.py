"""MariaDB checks of a restored copy: CHECK TABLE on every table, application queries."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pytest
from mariadb_server import WAIT_SECONDS, MariaServer

from backproof.errors import SourceError
from backproof.sources.base import DatabaseSource, IntegrityReport
from backproof.sources.registry import open_database


def test_check_table_checks_every_table_of_the_crm(maria: MariaServer) -> None:
    database = maria.create_database()
    source = open_database(maria.url(database))

    report = source.check_integrity(0)

    assert report.problems == []
    assert report.what == "tables"
    tables = maria.execute(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
        "AND TABLE_TYPE = 'BASE TABLE'",
        (database,),
    )
    assert report.checked == tables[0][0]


def test_application_query_reads_the_database_but_cannot_write(maria: MariaServer) -> None:
    database = maria.create_database()
    source = open_database(maria.url(database))

    count = source.query_value("SELECT COUNT(*) FROM deal_events", 5)
    assert str(count) == "400"
    with pytest.raises(SourceError, match="READ ONLY"):
        source.query_value("DELETE FROM deal_events", 5)


def test_application_query_is_cancelled_after_its_timeout(maria: MariaServer) -> None:
    database = maria.create_database()
    source = open_database(maria.url(database))

    with pytest.raises(SourceError, match="max_statement_time"):
        source.query_value("SELECT SLEEP(5) FROM deal_events LIMIT 1", 0.2)


def test_check_table_takes_the_largest_table_first(maria: MariaServer) -> None:
    database = _with_largest_big_table(maria)
    source = open_database(maria.url(database))

    # `Order` comes first by name, big_table first by size: the one connection waits at the
    # first table it takes.
    with _checking_while_locked(maria, database, ["`Order`", "big_table"], source, 1) as report:
        waiting = maria.wait_for_waiting(database, "CHECK TABLE", 1)

    assert waiting == ["CHECK TABLE `big_table`"]
    assert report and report[0].problems == []


def test_check_table_checks_other_tables_on_a_second_connection(maria: MariaServer) -> None:
    database = _with_largest_big_table(maria)
    source = open_database(maria.url(database))

    # With both tables locked, one connection waits at big_table (the largest) and the other
    # goes on through the rest up to companies: two CHECK TABLE wait at once.
    with _checking_while_locked(maria, database, ["big_table", "companies"], source, 2) as report:
        waiting = maria.wait_for_waiting(database, "CHECK TABLE", 2)

    assert waiting == ["CHECK TABLE `big_table`", "CHECK TABLE `companies`"]
    assert report and report[0].problems == []
    assert report[0].checked == len(_base_tables(maria, database))


def _with_largest_big_table(maria: MariaServer) -> str:
    """Return a CRM database whose big_table is its largest, by the catalog's sizes."""
    database = maria.create_database(big_rows=20_000)
    maria.execute("ANALYZE TABLE big_table", database=database)
    return database


def _base_tables(maria: MariaServer, database: str) -> list[str]:
    rows = maria.execute(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
        "AND TABLE_TYPE = 'BASE TABLE'",
        (database,),
    )
    return [str(row[0]) for row in rows]


@contextlib.contextmanager
def _checking_while_locked(
    maria: MariaServer, database: str, tables: list[str], source: DatabaseSource, jobs: int
) -> Iterator[list[IntegrityReport]]:
    """Hold write locks on ``tables`` while the integrity check runs in a thread; release them
    on leaving (the check then finishes) and hand back its report."""
    reports: list[IntegrityReport] = []
    with contextlib.closing(maria.connect(database)) as holder, holder.cursor() as cursor:
        cursor.execute("LOCK TABLES " + ", ".join(f"{table} WRITE" for table in tables))
        checking = threading.Thread(target=lambda: reports.append(source.check_integrity(0, jobs)))
        checking.start()
        try:
            yield reports
        finally:
            cursor.execute("UNLOCK TABLES")
            checking.join(WAIT_SECONDS)
