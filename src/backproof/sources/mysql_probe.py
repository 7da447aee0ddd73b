"""What ``doctor`` and ``init`` read of a MySQL/MariaDB database without dumping it: the server
reached and the client tools fit for it, and the sizes of its tables."""

from __future__ import annotations

from backproof.masking import mask_url
from backproof.sources.base import TableSize, largest_first
from backproof.sources.mysql_tools import (
    CLIENT_TOOLS,
    DUMP_TOOLS,
    check_client,
    connect,
    find_tool,
    parse_version,
    tool_version,
)
from backproof.sources.server_urls import ServerUrl


def describe_reachability(server: ServerUrl, password: str | None) -> str:
    """Return the database reached, its server's version and the tools found, with what each
    lacks. Raises SourceError when the server cannot be reached or a tool is missing."""
    with connect(server, password) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        server_version = parse_version(str(cursor.fetchone()[0]))
    tools = []
    for candidates in (DUMP_TOOLS, CLIENT_TOOLS):
        tool = find_tool(candidates)
        notes = check_client(tool, server_version)
        tools.append(f"{tool} {tool_version(tool).text}" + "".join(f" ({n})" for n in notes))
    where = mask_url(server.render())
    return f"{where} reachable ({server_version.text}); {', '.join(tools)}"


def list_table_sizes(server: ServerUrl, password: str | None) -> list[TableSize]:
    """Return the base tables of the database with their data and index sizes and rows."""
    with connect(server, password) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT TABLE_NAME, COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0), "
            "COALESCE(TABLE_ROWS, 0) FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
            (server.database,),
        )
        rows = cursor.fetchall()
    return largest_first(
        [TableSize(str(name), int(size), int(count)) for name, size, count in rows]
    )
