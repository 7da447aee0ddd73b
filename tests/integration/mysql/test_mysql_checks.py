"""MariaDB checks of a restored copy: CHECK TABLE on every table, application queries."""

from __future__ import annotations

import pytest
from mariadb_server import MariaServer

from backproof.errors import SourceError
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
