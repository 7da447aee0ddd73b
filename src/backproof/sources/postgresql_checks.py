"""PostgreSQL checks of a restored copy: amcheck on every B-tree index, and application queries.

``bt_index_check`` proves an index's pages are in order and consistent, under a lock that
blocks no reader; with ``heapallindexed`` it also proves that every row of the table is in the
index, at the cost of one pass over the table per index, so it is done for tables up to a size.
The indexes are shared out over ``jobs`` connections (a verify's ``[verify] jobs``), the largest
tables first, each to the connection with the least to read so far.
amcheck is installed in the scratch database, in a schema of its own that the object counts
leave out (``postgresql_catalog.AMCHECK_SCHEMA``), so the checks run while verify reads the
restored copy's facts and digests.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
       pg_relation_size(i.indrelid), pg_relation_size(c.oid)
FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_am AS am ON am.oid = c.relam JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE am.amname = 'btree' AND c.relkind = 'i' AND c.relpersistence <> 't'
  AND i.indisvalid AND i.indisready AND {USER_SCHEMA}
ORDER BY n.nspname, c.relname
"""


def check_indexes(
    server: ServerUrl, password: str | None, heapallindexed_max_bytes: int, jobs: int = 1
) -> IntegrityReport:
    """Run ``bt_index_check`` on every B-tree index of the database of ``server``, on up to
    ``jobs`` connections at once."""
    with connect(server, password, autocommit=True) as connection:
        schema = _install_amcheck(connection)
        if schema is None:
            return IntegrityReport(0, "indexes", skipped="amcheck is not available here")
        indexes = [
            _Index(oid, name, table_bytes <= heapallindexed_max_bytes, table_bytes, index_bytes)
            for oid, name, table_bytes, index_bytes in connection.execute(_BTREE_INDEXES)
        ]
        check = sql.SQL(
            "SELECT {}.bt_index_check(index => %s::oid::regclass, heapallindexed => %s)"
        )
        statement = check.format(sql.Identifier(schema))
        first, *others = _shares(indexes, jobs)
        with ThreadPoolExecutor(max(1, len(others)), thread_name_prefix="amcheck") as pool:
            running = [
                pool.submit(_check_share, server, password, statement, share) for share in others
            ]
            found = _check(connection, statement, first)
            for share in running:
                found.update(share.result())
        problems = [found[index.name] for index in indexes if index.name in found]
        return IntegrityReport(len(indexes), "indexes", problems)


@dataclass(frozen=True)
class _Index:
    oid: int
    name: str
    heapallindexed: bool
    table_bytes: int
    index_bytes: int

    @property
    def cost(self) -> int:
        """The bytes its check reads: the index, and the table with heapallindexed."""
        return self.index_bytes + (self.table_bytes if self.heapallindexed else 0)


def _shares(indexes: list[_Index], jobs: int) -> list[list[_Index]]:
    """Share ``indexes`` out into at most ``jobs`` lists (at least one) of about equal cost:
    the costliest first, each to the list with the least so far."""
    shares: list[list[_Index]] = [[] for _job in range(max(1, min(jobs, len(indexes))))]
    costs = [0] * len(shares)
    for index in sorted(indexes, key=lambda index: index.cost, reverse=True):
        cheapest = costs.index(min(costs))
        shares[cheapest].append(index)
        costs[cheapest] += index.cost
    return shares


def _check_share(
    server: ServerUrl, password: str | None, statement: sql.Composed, share: list[_Index]
) -> dict[str, str]:
    with connect(server, password, autocommit=True) as connection:
        return _check(connection, statement, share)


def _check(
    connection: psycopg.Connection[tuple[Any, ...]], statement: sql.Composed, share: list[_Index]
) -> dict[str, str]:
    """Check each index of ``share``; return the problem found in each faulty one, by name."""
    problems = {}
    for index in share:
        try:
            connection.execute(statement, (index.oid, index.heapallindexed))
        except psycopg.Error as exc:
            problems[index.name] = f"index {index.name}: {translate(exc, 'amcheck').args[0]}"
    return problems


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
