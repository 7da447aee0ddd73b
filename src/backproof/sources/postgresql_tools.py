"""PostgreSQL's tools and connections: pg_dump and pg_restore commands, versions, psycopg.

The password reaches pg_dump and pg_restore as ``PGPASSWORD`` in their environment and psycopg
as a keyword argument; the connection string on their command line never holds it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, LiteralString

import psycopg
from psycopg.conninfo import make_conninfo

from backproof.errors import SourceError
from backproof.process import Command, run_command
from backproof.sources.server_urls import ServerUrl

DUMP_TOOL = "pg_dump"
RESTORE_TOOL = "pg_restore"
# Debian's chooser of a PostgreSQL version, on PATH in place of each tool (``tool_path``).
PG_WRAPPER = "pg_wrapper"
DEBIAN_BINROOT = Path("/usr/lib/postgresql")
CONNECT_TIMEOUT_SECONDS = 10
VERSION_TIMEOUT_SECONDS = 30
MAINTENANCE_DATABASE = "postgres"
INSTALL_HINT = "install postgresql-client (of the server's major version or newer)"
# Settings under which every value reads back as the same text before dump and after restore.
CANONICAL_SETTINGS: tuple[LiteralString, ...] = (
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 1",
    "SET bytea_output = 'hex'",
    "SET search_path = pg_catalog",
)
# The environment of every pg_dump: times print in UTC, as in the dump of a restored copy.
CANONICAL_ENVIRONMENT = {"PGTZ": "UTC"}


def conninfo(server: ServerUrl, database: str | None = None) -> str:
    """Return a libpq connection string without the password (safe on a command line)."""
    options: dict[str, Any] = dict(server.query)
    for name, value in (
        ("host", server.host),
        ("port", server.port),
        ("user", server.user),
        ("dbname", database or server.database or MAINTENANCE_DATABASE),
    ):
        if value is not None:
            options[name] = value
    options.pop("password", None)
    return make_conninfo(**options)


def tool_environment(password: str | None) -> dict[str, str]:
    """Return the environment that gives a tool its password (and never a prompt)."""
    return {"PGPASSWORD": password} if password else {}


@contextlib.contextmanager
def connect(
    server: ServerUrl,
    password: str | None,
    database: str | None = None,
    *,
    autocommit: bool = False,
) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """Open a connection with the canonical session settings.

    Raises SourceError with the server's reason (down, wrong password, no such database).
    """
    target = database or server.database or MAINTENANCE_DATABASE
    try:
        connection = psycopg.connect(
            conninfo(server, target),
            password=password,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            autocommit=True,
        )
    except psycopg.Error as exc:
        raise SourceError(
            f"cannot connect to PostgreSQL {server.with_database(target).label}: {_reason(exc)}"
        ) from exc
    try:
        for statement in CANONICAL_SETTINGS:
            connection.execute(statement)
        connection.autocommit = autocommit
        yield connection
    finally:
        connection.close()


def _reason(error: psycopg.Error) -> str:
    """The server's message: the first line (the others quote the query and point at it)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def translate(error: psycopg.Error, what: str) -> SourceError:
    """Return a SourceError saying ``what`` failed and the server's reason."""
    return SourceError(f"{what}: {_reason(error)}")


def tool_path(tool: str) -> str:
    """Return what runs ``tool``: the binary of the newest installed PostgreSQL version where
    the ``tool`` on PATH is Debian's ``pg_wrapper``, else the one on PATH; the bare name when
    none is (running it then says to install it).

    Debian and Ubuntu put that perl script on PATH for every PostgreSQL tool; for a server
    named by host it runs the newest version's tool, which reads every older server. Going
    to it directly does the same without a perl interpreter's start (about 30 ms a run,
    twice before a backup's dump begins). libpq there already reads its service file from
    ``/etc/postgresql-common``, as the wrapper arranges.
    """
    return _tool_path(tool, os.environ.get("PATH", ""))


@cache
def _tool_path(tool: str, _search_path: str) -> str:
    found = shutil.which(tool)
    if found is None:
        return tool
    if Path(found).resolve().name != PG_WRAPPER:
        return found
    versions = [path for path in DEBIAN_BINROOT.glob(f"*/bin/{tool}") if os.access(path, os.X_OK)]
    if not versions:
        return found
    return str(max(versions, key=lambda path: _version_key(path.parent.parent.name)))


def _version_key(name: str) -> tuple[int, ...]:
    """``15`` -> (15,), ``9.6`` -> (9, 6); a name that is no version sorts first."""
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return (-1,)


def tool_version(tool: str) -> str:
    """Return the version of ``pg_dump`` or ``pg_restore`` on PATH (``15.4`` of ``pg_dump
    (PostgreSQL) 15.4``).

    Raises SourceError naming the package to install when the tool is not on PATH.
    """
    path = tool_path(tool)
    if path == tool:
        raise SourceError(f"{tool} not found on PATH: {INSTALL_HINT}")
    return _version_of(path, tool)


@cache
def _version_of(path: str, tool: str) -> str:
    output = run_command(
        Command(name=tool, argv=(path, "--version")), timeout_seconds=VERSION_TIMEOUT_SECONDS
    )
    match = re.search(r"\d+(?:\.\d+)*", output)
    if match is None:
        raise SourceError(f"cannot tell the version of {tool} from {output.strip()!r}")
    return match.group(0)


def require_client_for(tool: str, server_version_number: int) -> str:
    """Return the tool's version; SourceError when its major version is older than the
    server's (``server_version_number`` as libpq gives it: 150004 for 15.4)."""
    server_major = server_version_number // 10000
    version = tool_version(tool)
    client_major = int(version.split(".", 1)[0])
    if client_major < server_major:
        raise SourceError(
            f"{tool} {client_major} is older than the PostgreSQL {server_major} server: "
            f"install postgresql-client-{server_major} (or newer) and put its {tool} first "
            "on PATH"
        )
    return version


def dump_command(
    server: ServerUrl,
    password: str | None,
    snapshot: str | None = None,
    *,
    database: str | None = None,
    data_only: bool = False,
    tables: Sequence[str] = (),
    without_data_of: Sequence[str] = (),
) -> Command:
    """Return pg_dump of the database (``database``, else the URL's), custom format,
    uncompressed, in ``snapshot`` when given: its rows alone with ``data_only``; only the
    tables ``tables`` names when given; without the rows of those ``without_data_of`` names
    (pg_dump patterns, ``table_pattern``). A backup's first stream leaves its largest tables'
    rows out, its second dumps them alone; a verify's read-back dumps the rows of a copy."""
    argv = (
        tool_path(DUMP_TOOL),
        "--format=custom",
        "--compress=0",  # backproof compresses the stream itself, once
        *((f"--snapshot={snapshot}",) if snapshot else ()),
        *(("--data-only",) if data_only else ()),
        *(f"--table={pattern}" for pattern in tables),
        *(f"--exclude-table-data={pattern}" for pattern in without_data_of),
        "--no-password",
        f"--dbname={conninfo(server, database)}",
    )
    return Command(
        name=DUMP_TOOL,
        argv=argv,
        env={**tool_environment(password), **CANONICAL_ENVIRONMENT},
        secrets=(password,) if password else (),
    )


def restore_command(
    server: ServerUrl,
    password: str | None,
    database: str,
    *,
    jobs: int = 1,
    path: Path | None = None,
    progress: Callable[[bytes], bool] | None = None,
    selection: Sequence[str] = (),
) -> Command:
    """Return pg_restore of a custom-format dump into ``database``: read from stdin, or from
    the file ``path`` by ``jobs`` parallel workers; only what the options ``selection`` pick
    when given (``--section=…``, ``--data-only``).

    Owners and privileges are left out (the roles of the source may not exist where it is
    restored); the first error stops it. With ``progress``, pg_restore runs ``--verbose`` and
    ``progress`` reads its lines as they come (see ``Command.progress``).
    """
    argv: tuple[str, ...] = (
        tool_path(RESTORE_TOOL),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--no-password",
        f"--dbname={conninfo(server, database)}",
        *selection,
    )
    if progress is not None:
        argv = (*argv, "--verbose")
    if path is not None:
        argv = (*argv, f"--jobs={jobs}", str(path))
    return Command(
        name=RESTORE_TOOL,
        argv=argv,
        env=tool_environment(password),
        secrets=(password,) if password else (),
        progress=progress,
    )
