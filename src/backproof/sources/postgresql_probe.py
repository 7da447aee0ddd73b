"""What ``doctor`` and ``init`` read of a PostgreSQL database without dumping it: the server
reached and the client tools fit for it, and the sizes of its tables."""

from __future__ import annotations

from psycopg import sql

from backproof.masking import mask_url
from backproof.sources.base import TableSize, largest_first
from backproof.sources.postgresql_catalog import list_tables
from backproof.sources.postgresql_tools import DUMP_TOOL, RESTORE_TOOL, connect, require_client_for
from backproof.sources.server_urls import ServerUrl


def describe_reachability(server: ServerUrl, password: str | None) -> str:
    """Return the database reached, its server's major version and the tools fit for it.

    Raises SourceError when the server cannot be reached or a tool is missing or too old.
    """
    with connect(server, password) as connection:
        number = connection.info.server_version
    versions = [f"{tool} {require_client_for(tool, number)}" for tool in (DUMP_TOOL, RESTORE_TOOL)]
    where = mask_url(server.render())
    return f"{where} reachable (PostgreSQL {number // 10000}); {', '.join(versions)}"


def list_table_sizes(server: ServerUrl, password: str | None) -> list[TableSize]:
    """Return the tables of the database with their total sizes and estimated rows."""
    with connect(server, password) as connection, connection.cursor() as cursor:
        sizes = []
        for table in list_tables(cursor):
            cursor.execute(
                "SELECT pg_total_relation_size(%s), reltuples::bigint FROM pg_class WHERE oid = %s",
                (table.oid, table.oid),
            )
            size_bytes, rows = cursor.fetchone() or (0, 0)
            if rows < 0:  # never analyzed (a database loaded just now): has it a row at all?
                cursor.execute(
                    sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT 1) AS one").format(
                        table.from_clause()
                    )
                )
                rows = (cursor.fetchone() or (0,))[0]
            sizes.append(TableSize(table.label, int(size_bytes), int(rows)))
    return largest_first(sizes)
