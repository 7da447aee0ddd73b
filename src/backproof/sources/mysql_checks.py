"""MySQL/MariaDB checks of a restored copy: ``CHECK TABLE`` on every table, application queries."""

from __future__ import annotations

import logging
import queue
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pymysql

from backproof.errors import SourceError
from backproof.sources import mysql_catalog as catalog
from backproof.sources.base import IntegrityReport
from backproof.sources.mysql_tools import connect, reason
from backproof.sources.server_urls import ServerUrl

logger = logging.getLogger(__name__)
# What CHECK TABLE answers for a sound table.
_SOUND = {"ok", "table is already up to date"}


def check_tables(
    server: ServerUrl, password: str | None, database: str, jobs: int = 1
) -> IntegrityReport:
    """Run ``CHECK TABLE`` on every base table of ``database``, on up to ``jobs`` connections
    at once; name each table it faults.

    The tables are taken largest first, each by the next connection free: one ``CHECK TABLE``
    is one thread of the server, and the largest table (more than half the data of a CRM) is
    the longest step, so it starts first and the others are checked beside it.
    """
    with connect(server, password, database) as connection:
        try:
            with connection.cursor() as cursor:
                tables = _largest_first(cursor, database)
        except pymysql.MySQLError as exc:
            raise SourceError(f"CHECK TABLE failed on {server.label}: {reason(exc)}") from exc
        waiting: queue.SimpleQueue[str] = queue.SimpleQueue()
        for table in tables:
            waiting.put(table)
        found: dict[str, list[str]] = {}
        others = max(0, min(jobs, len(tables)) - 1)
        with ThreadPoolExecutor(max(1, others), thread_name_prefix="check-table") as pool:
            running = [
                pool.submit(_check_share, server, password, database, waiting, found)
                for _other in range(others)
            ]
            try:
                _check_queued(connection, server, waiting, found)
            finally:
                errors = [share.exception() for share in running]
        for error in errors:
            if error is not None:
                raise error
    problems = [fault for table in sorted(tables) for fault in found[table]]
    return IntegrityReport(len(tables), "tables", problems)


def _largest_first(cursor: Any, database: str) -> list[str]:
    """Return the base tables of ``database``, the largest (data and indexes) first."""
    names = catalog.list_tables(cursor, database)
    sizes = catalog.table_sizes(cursor, database)
    return sorted(names, key=lambda name: (-sizes.get(name, 0), name))


def _check_share(
    server: ServerUrl,
    password: str | None,
    database: str,
    waiting: queue.SimpleQueue[str],
    found: dict[str, list[str]],
) -> None:
    with connect(server, password, database) as connection:
        _check_queued(connection, server, waiting, found)


def _check_queued(
    connection: Any,
    server: ServerUrl,
    waiting: queue.SimpleQueue[str],
    found: dict[str, list[str]],
) -> None:
    """Check the tables ``waiting`` one after another until none is left; put what each
    ``CHECK TABLE`` faults into ``found``. After an error the rest is left to the others."""
    try:
        with connection.cursor() as cursor:
            while True:
                try:
                    table = waiting.get_nowait()
                except queue.Empty:
                    return
                logger.debug("CHECK TABLE %s on connection %d", table, connection.thread_id())
                cursor.execute(f"CHECK TABLE {catalog.quote(table)}")
                found[table] = _faults(table, cursor.fetchall())
    except pymysql.MySQLError as exc:
        raise SourceError(f"CHECK TABLE failed on {server.label}: {reason(exc)}") from exc


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
