"""MySQL and MariaDB tools and connections: dump and client commands, versions, PyMySQL.

The password reaches the tools through a private options file (``--defaults-extra-file``, mode
0600 in a 0700 folder, deleted afterwards), never argv nor the environment; PyMySQL gets it as
a keyword argument. The MariaDB tools are preferred (``mariadb-dump``, ``mariadb``); MySQL's
(``mysqldump``, ``mysql``) serve when they are the ones installed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pymysql
import pymysql.converters

from backproof.errors import SourceError
from backproof.privacy import open_private_file
from backproof.process import Command, run_command
from backproof.sources.mysql_tls import Connection
from backproof.sources.server_urls import ServerUrl

DUMP_TOOLS = ("mariadb-dump", "mysqldump")
CLIENT_TOOLS = ("mariadb", "mysql")
CONNECT_TIMEOUT_SECONDS = 10
VERSION_TIMEOUT_SECONDS = 30
INSTALL_HINT = "install mariadb-client (or mysql-client)"
# What a session writing a verify's scratch database runs first where the server logs binary
# and the user may turn it off for itself (``mysql_binlog``): the throw-away import stays out of
# the binary log and so off the replicas.
UNLOGGED_SESSION = "SET SESSION sql_log_bin = 0"
_MARIADB_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)-MariaDB")
_ANY_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
ENCODERS = {
    kind: encoder
    for kind, encoder in pymysql.converters.conversions.items()
    if isinstance(kind, type)
}


@dataclass(frozen=True)
class Version:
    """A server or tool version: MariaDB or MySQL, and its numbers."""

    flavour: str  # "MariaDB" or "MySQL"
    numbers: tuple[int, int, int]

    @property
    def text(self) -> str:
        """``MariaDB 10.11.6``."""
        return f"{self.flavour} {'.'.join(map(str, self.numbers))}"


def parse_version(text: str) -> Version:
    """Return the version in a ``--version`` line or a ``VERSION()`` value."""
    match = _MARIADB_VERSION.search(text)
    flavour = "MariaDB"
    if match is None:
        match = _ANY_VERSION.search(text)
        flavour = "MariaDB" if "mariadb" in text.lower() else "MySQL"
    if match is None:
        raise SourceError(f"cannot tell a MySQL/MariaDB version from {text.strip()!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return Version(flavour, (major, minor, patch))


def find_tool(candidates: tuple[str, ...]) -> str:
    """Return the first of ``candidates`` on PATH; SourceError naming what to install."""
    for name in candidates:
        if shutil.which(name):
            return name
    raise SourceError(f"{' or '.join(candidates)} not found on PATH: {INSTALL_HINT}")


def tool_version(tool: str) -> Version:
    """Return the version of a tool on PATH (``mariadb-dump --version``)."""
    return _version_of(_path_of(tool), tool)


def supports_sandbox(client: str) -> bool:
    """Return True when the client has ``--sandbox`` (MariaDB 10.5.25, 10.6.18, 10.11.8, 11+)."""
    return _has_sandbox(_path_of(client), client)


def _path_of(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise SourceError(f"{tool} not found on PATH: {INSTALL_HINT}")
    return path


@cache
def _version_of(path: str, tool: str) -> Version:
    command = Command(name=tool, argv=(path, "--version"))
    return parse_version(run_command(command, timeout_seconds=VERSION_TIMEOUT_SECONDS))


@cache
def _has_sandbox(path: str, client: str) -> bool:
    command = Command(name=client, argv=(path, "--help"))
    return "--sandbox" in run_command(command, timeout_seconds=VERSION_TIMEOUT_SECONDS)


def check_client(tool: str, server: Version) -> list[str]:
    """Return warnings about the tool for this server; SourceError when it is too old."""
    client = tool_version(tool)
    if client.flavour != server.flavour:
        return [f"{tool} is {client.text}, the server {server.text}: prefer the server's own tools"]
    if client.numbers[:2] < server.numbers[:2]:
        package = "mariadb-client" if server.flavour == "MariaDB" else "mysql-client"
        wanted = ".".join(map(str, server.numbers[:2]))
        raise SourceError(
            f"{tool} ({client.text}) is older than the server ({server.text}): "
            f"install {package} {wanted} or newer"
        )
    return []


@contextlib.contextmanager
def options_file(password: str | None) -> Iterator[tuple[str, ...]]:
    """Yield the leading arguments that give a tool its password from a private options file."""
    if password is None:
        yield ()
        return
    with tempfile.TemporaryDirectory(prefix="backproof-") as folder:
        path = Path(folder) / "client.cnf"
        escaped = password.replace("\\", "\\\\").replace('"', '\\"')
        with os.fdopen(open_private_file(path), "w", encoding="utf-8") as stream:
            stream.write(f'[client]\npassword="{escaped}"\n')
        yield (f"--defaults-extra-file={path}",)


def connection_arguments(server: ServerUrl) -> tuple[str, ...]:
    """Return the host, port, user (or socket) arguments of a tool; never the password."""
    arguments = []
    if server.host:
        arguments.append(f"--host={server.host}")
    if server.port:
        arguments.append(f"--port={server.port}")
    if server.user:
        arguments.append(f"--user={server.user}")
    if "unix_socket" in server.query:
        arguments.append(f"--socket={server.query['unix_socket']}")
    elif server.host:
        arguments.append("--protocol=TCP")  # as PyMySQL connects, even to localhost
    return tuple(arguments)


@dataclass(frozen=True)
class DumpScope:
    """Which tables a dump reads and how it prints their text: the whole database as a backup
    dumps it, or a part of a verify's read-back of its restored copy."""

    tables: tuple[str, ...] = ()  # only these tables (none: every table)
    ignored: tuple[str, ...] = ()  # every table but these
    # The text columns sent and printed as their stored bytes (``--default-character-set=
    # binary``, without ``--hex-blob``, which would then print every text column in hex): for
    # utf8mb4, utf8mb3 and ascii columns holding valid text the same characters as utf8mb4
    # prints, without the client's per-byte multibyte checks (about 4 s of mariadb-dump's
    # 9.5 s of CPU per GB). Only for tables without binary columns (``mysql_catalog``).
    text_as_bytes: bool = False


WHOLE_DATABASE = DumpScope()


def dump_command(
    tool: str, leading: tuple[str, ...], server: ServerUrl, scope: DumpScope = WHOLE_DATABASE
) -> Command:
    """Return the dump of one database: one transaction, routines, events and triggers,
    binary data as hex, utf8mb4, one INSERT column list per statement, the rows of a table
    with a primary key in the key's order (their digest hashes them in that order); of the
    tables and in the text form ``scope`` says."""
    charset = "binary" if scope.text_as_bytes else "utf8mb4"
    options = [
        "--single-transaction",
        "--quick",
        "--order-by-primary",
        "--routines",
        "--events",
        "--triggers",
        "--skip-hex-blob" if scope.text_as_bytes else "--hex-blob",
        "--complete-insert",
        f"--default-character-set={charset}",
        "--no-tablespaces",
        "--tz-utc",
    ]
    if tool_version(tool).flavour == "MySQL":
        options.append("--set-gtid-purged=OFF")
    database = server.database or ""
    options += [f"--ignore-table={database}.{table}" for table in scope.ignored]
    arguments = connection_arguments(server)
    # "--": a table name is never taken for an option.
    names = ("--", database, *scope.tables) if scope.tables else (database,)
    argv = (tool, *leading, *arguments, *options, *names)
    return Command(name=tool, argv=argv)


def client_command(
    tool: str,
    leading: tuple[str, ...],
    server: ServerUrl,
    database: str,
    *,
    unbuffered: bool = False,
    unlogged: bool = False,
) -> Command:
    """Return the client reading a dump on stdin into ``database``: binary mode (no client
    commands but ``DELIMITER``), sandboxed when the client can be, stopping at the first error;
    ``unbuffered``: printing each query's result at once (a parallel import reads it);
    ``unlogged``: its session (and any it reconnects) out of the binary log."""
    options = ["--binary-mode", "--default-character-set=utf8mb4", "--batch"]
    if supports_sandbox(tool):
        options.append("--sandbox")
    if unbuffered:
        options.append("--unbuffered")
    if unlogged:
        options.append(f"--init-command={UNLOGGED_SESSION}")
    arguments = connection_arguments(server)
    return Command(name=tool, argv=(tool, *leading, *arguments, *options, database))


@contextlib.contextmanager
def connect(
    server: ServerUrl, password: str | None, database: str | None = None, *, unlogged: bool = False
) -> Iterator[Any]:
    """Open an autocommit connection in utf8mb4 and UTC, values returned as text; with
    ``unlogged``, its writes kept out of the binary log (``UNLOGGED_SESSION``).

    Raises SourceError with the server's reason (down, wrong password, no such database, not
    allowed to turn binary logging off).
    """
    try:
        connection = Connection(
            host=server.host or "localhost",
            port=server.port or 3306,
            user=server.user,
            # As the tools send it: UTF-8 (PyMySQL would encode a str as Latin-1).
            password=(password or "").encode("utf-8"),
            database=database,
            unix_socket=server.query.get("unix_socket"),
            charset="utf8mb4",
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            autocommit=True,
            conv=ENCODERS,  # no decoders: every value as the text (or bytes) the server sends
        )
    except pymysql.MySQLError as exc:
        where = server.with_database(database).label
        raise SourceError(f"cannot connect to MySQL/MariaDB {where}: {reason(exc)}") from exc
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET time_zone = '+00:00'")
            if unlogged:
                _turn_off_binary_logging(cursor, server)
        yield connection
    finally:
        connection.close()


def _turn_off_binary_logging(cursor: Any, server: ServerUrl) -> None:
    try:
        cursor.execute(UNLOGGED_SESSION)
    except pymysql.MySQLError as exc:
        raise SourceError(
            f"cannot turn binary logging off on {server.label}: {reason(exc)}"
        ) from exc


def reason(error: pymysql.MySQLError) -> str:
    """Return the server's message of a PyMySQL error."""
    arguments = error.args
    return str(arguments[1]) if len(arguments) > 1 else str(error)


def execute(
    server: ServerUrl,
    password: str | None,
    statement: str,
    parameters: Sequence[object] = (),
    *,
    unlogged: bool = False,
) -> list[tuple[Any, ...]]:
    """Run one statement on ``server`` without choosing a database (``unlogged``: out of the
    binary log); return its rows."""
    with connect(server.with_database(None), password, unlogged=unlogged) as connection:
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, parameters or None)
                return list(cursor.fetchall())
        except pymysql.MySQLError as exc:
            raise SourceError(f"on {server.label}: {reason(exc)}") from exc


def password_of(server: ServerUrl, password: str | None) -> str | None:
    """Return ``password``, else the URL's, else ``MYSQL_PWD``: what the mariadb and mysql
    tools read, which PyMySQL needs to be told."""
    if password is not None:
        return password
    return server.password if server.password is not None else os.environ.get("MYSQL_PWD")
