"""The tables of an application's database with their sizes, and the key tables to propose.

The CRM's key tables when the database has them; otherwise the largest tables that hold the
application's own data (framework bookkeeping, caches, sessions, queues and logs are never
proposed: their rows change between the dump and a look at them, and they prove nothing).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from backproof.errors import SourceError
from backproof.sources.registry import engine_of
from backproof.sources.server_urls import parse_server_url
from backproof.sources.sqlite import connect, sqlite_path

CRM_KEY_TABLES = ("companies", "contacts")
PROPOSED_KEY_TABLES = 2
NOT_APPLICATION_DATA = re.compile(
    r"(^|_)(cache|caches|cache_locks|sessions?|jobs?|job_batches|failed_jobs|queue|migrations?"
    r"|schema_migrations|ar_internal_metadata|password_reset_tokens|password_resets"
    r"|personal_access_tokens|logs?|audit_log|activity_log|telescope_\w+|pulse_\w+"
    r"|django_\w+|auth_permission|auth_group\w*|active_storage_\w+|sqlite_\w+)$"
)


@dataclass(frozen=True)
class TableSize:
    """One table as ``init`` sees it: its name in facts and how much it holds."""

    name: str
    size_bytes: int
    rows: int


def list_table_sizes(url: str, password: str | None) -> list[TableSize]:
    """Return the tables of the database at ``url``, largest first.

    Raises SourceError when the database cannot be reached (the server's reason in the message).
    """
    engine = engine_of(url)
    if engine == "sqlite":
        return _sqlite_sizes(url)
    if engine == "postgresql":
        return _postgresql_sizes(url, password)
    return _mysql_sizes(url, password)


def propose_key_tables(tables: Sequence[TableSize]) -> list[str]:
    """Return the CRM's key tables when all are there, else the largest application tables."""
    names = {table.name for table in tables}
    if set(CRM_KEY_TABLES) <= names:
        return list(CRM_KEY_TABLES)
    candidates = [table for table in tables if not NOT_APPLICATION_DATA.search(table.name)]
    return [table.name for table in candidates[:PROPOSED_KEY_TABLES] if table.rows > 0]


def _largest_first(sizes: list[TableSize]) -> list[TableSize]:
    return sorted(sizes, key=lambda table: (-table.size_bytes, -table.rows, table.name))


def _sqlite_sizes(url: str) -> list[TableSize]:
    path = sqlite_path(url)
    if not path.is_file():
        raise SourceError(f"SQLite database {path} does not exist")
    with connect(path, read_only=True) as connection:
        names = [
            str(row[0])
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        sizes = []
        for name in names:
            quoted = '"' + name.replace('"', '""') + '"'
            rows = int(connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])
            sizes.append(TableSize(name, 0, rows))  # SQLite has no cheap size: rows rank
    return _largest_first(sizes)


def _postgresql_sizes(url: str, password: str | None) -> list[TableSize]:
    from psycopg import sql  # noqa: PLC0415

    from backproof.sources.postgresql_catalog import list_tables  # noqa: PLC0415
    from backproof.sources.postgresql_tools import connect  # noqa: PLC0415

    server = parse_server_url(url)
    with connect(server, password or server.password) as connection, connection.cursor() as cursor:
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
    return _largest_first(sizes)


def _mysql_sizes(url: str, password: str | None) -> list[TableSize]:
    from backproof.sources.mysql_tools import connect  # noqa: PLC0415

    server = parse_server_url(url)
    with connect(server, password or server.password) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT TABLE_NAME, COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0), "
            "COALESCE(TABLE_ROWS, 0) FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
            (server.database,),
        )
        rows = cursor.fetchall()
    return _largest_first(
        [TableSize(str(name), int(size), int(count)) for name, size, count in rows]
    )
