"""MySQL/MariaDB checks of a restored copy: ``CHECK TABLE`` on every table, application queries."""

from __future__ import annotations

from typing import Any

import pymysql

from backproof.errors import SourceError
from backproof.sources import mysql_catalog as catalog
from backproof.sources.base import IntegrityReport
from backproof.sources.mysql_tools import connect, reason
from backproof.sources.server_urls import ServerUrl

# What CHECK TABLE answers for a sound table.
_SOUND = {"ok", "table is already up to date"}


def check_tables(server: ServerUrl, password: str | None, database: str) -> IntegrityReport:
    """Run ``CHECK TABLE`` on every base table of ``database``; name each table it faults."""
    with connect(server, password, database) as connection:
        try:
            with connection.cursor() as cursor:
                tables = sorted(catalog.list_tables(cursor, database))
                problems = []
                for table in tables:
                    cursor.execute(f"CHECK TABLE {catalog.quote(table)}")
                    problems += _faults(table, cursor.fetchall())
        except pymysql.MySQLError as exc:
            raise SourceError(f"CHECK TABLE failed on {server.label}: {reason(exc)}") from exc
    return IntegrityReport(len(tables), "tables", problems)


def _faults(table: str, rows: Any) -> list[str]:
    """Return what CHECK TABLE found wrong with ``table`` (its answer rows)."""
    faults = []
    for _name, _operation, kind, text in rows:
        kind_name, message = str(kind).lower(), str(text)
        if kind_name == "error" or (kind_name == "status" and message.lower() not in _SOUND):
            faults.append(f"table {table}: {message}")
    return faults


def query_value(
    server: ServerUrl, password: str | None, database: str, query: str, timeout_seconds: float
) -> object:
    """Return the first value of ``query`` run in a read-only transaction with a time limit.

    Raises SourceError with the server's reason when it fails or runs out of time.
    """
    with connect(server, password, database) as connection:
        try:
            with connection.cursor() as cursor:
                _limit_time(cursor, timeout_seconds)
                cursor.execute("START TRANSACTION READ ONLY")
                cursor.execute(query)
                row = cursor.fetchone()
                cursor.execute("ROLLBACK")
        except pymysql.MySQLError as exc:
            raise SourceError(f"the query failed: {reason(exc)}") from exc
    return None if not row else row[0]


def _limit_time(cursor: Any, timeout_seconds: float) -> None:
    """Cancel the session's statements after ``timeout_seconds`` (MariaDB, else MySQL)."""
    try:
        cursor.execute("SET SESSION max_statement_time = %s", (timeout_seconds,))
    except pymysql.MySQLError:
        cursor.execute("SET SESSION max_execution_time = %s", (int(timeout_seconds * 1000),))
