"""PostgreSQL checks of a restored copy: amcheck on every B-tree index, and application queries.

``bt_index_check`` proves an index's pages are in order and consistent, under a lock that
blocks no reader; with ``heapallindexed`` it also proves that every row of the table is in the
index, at the cost of one pass over the table per index, so it is done for tables up to a size.
amcheck is installed in the scratch database, in a schema of its own that the object counts
leave out (``postgresql_catalog.AMCHECK_SCHEMA``), so the checks run while verify reads the
restored copy's facts and digests.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from backproof.sources.base import IntegrityReport
from backproof.sources.postgresql_catalog import AMCHECK_SCHEMA, USER_SCHEMA
from backproof.sources.postgresql_tools import connect, translate
from backproof.sources.server_urls import ServerUrl

_AMCHECK_INSTALLED = (
    "SELECT n.nspname FROM pg_extension AS e JOIN pg_namespace AS n ON n.oid = e.extnamespace "
    "WHERE e.extname = 'amcheck'"
)
_BTREE_INDEXES = f"""
SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       pg_relation_size(i.indrelid)
FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_am AS am ON am.oid = c.relam JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE am.amname = 'btree' AND c.relkind = 'i' AND c.relpersistence <> 't'
  AND i.indisvalid AND i.indisready AND {USER_SCHEMA}
ORDER BY n.nspname, c.relname
"""


def check_indexes(
    server: ServerUrl, password: str | None, heapallindexed_max_bytes: int
) -> IntegrityReport:
    """Run ``bt_index_check`` on every B-tree index of the database of ``server``."""
    with connect(server, password, autocommit=True) as connection:
        schema = _install_amcheck(connection)
        if schema is None:
            return IntegrityReport(0, "indexes", skipped="amcheck is not available here")
        indexes = connection.execute(_BTREE_INDEXES).fetchall()
        check = sql.SQL(
            "SELECT {}.bt_index_check(index => %s::oid::regclass, heapallindexed => %s)"
        )
        statement = check.format(sql.Identifier(schema))
        problems = []
        for oid, name, table_bytes in indexes:
            try:
                connection.execute(statement, (oid, table_bytes <= heapallindexed_max_bytes))
            except psycopg.Error as exc:
                problems.append(f"index {name}: {translate(exc, 'amcheck').args[0]}")
        return IntegrityReport(len(indexes), "indexes", problems)


def _install_amcheck(connection: psycopg.Connection[tuple[Any, ...]]) -> str | None:
    """Return the schema of amcheck in this database, installing it when it is missing;
    None when it cannot be installed (not shipped with the server, or not allowed)."""
    row = connection.execute(_AMCHECK_INSTALLED).fetchone()
    if row is not None:
        return str(row[0])
    try:
        with connection.transaction():
            schema = sql.Identifier(AMCHECK_SCHEMA)
            connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            connection.execute(sql.SQL("CREATE EXTENSION amcheck SCHEMA {}").format(schema))
    except psycopg.Error:
        return None
    return AMCHECK_SCHEMA


def query_value(
    server: ServerUrl, password: str | None, query: str, timeout_seconds: float
) -> object:
    """Return the first value of ``query`` run read-only with a statement timeout.

    Raises SourceError with the server's reason when it fails or is cancelled.
    """
    with connect(server, password) as connection:
        connection.read_only = True
        try:
            milliseconds = max(1, int(timeout_seconds * 1000))
            connection.execute(
                sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(milliseconds))
            )
            connection.execute("SET LOCAL search_path TO DEFAULT")
            cursor = connection.execute(query.encode())
            row = cursor.fetchone() if cursor.description else None
        except psycopg.Error as exc:
            raise translate(exc, "the query failed") from exc
        finally:
            connection.rollback()
    if row is None or not row:
        return None
    value: object = row[0]
    return value
