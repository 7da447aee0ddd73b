"""MySQL and MariaDB: mariadb-dump (or mysqldump) in one transaction, restored by the client.

The dump runs with ``--single-transaction``: InnoDB tables are read from one consistent
snapshot without locks that stop the application writing. The servers cannot share that
snapshot with another session, so the facts of the dump (its tables, their row counts, the key
tables' sampled rows) are read from the dump stream itself as it passes (``mysql_stream``):
they describe exactly the rows the dump holds. The objects (views, triggers, routines, events)
are counted from the catalog just before the dump starts. Tables of other engines (MyISAM,
Aria…) cannot be snapshot: each is recorded as a warning of the backup.

A dump is data, never a program: every statement is checked before the client sees it
(``mysql_guard``), and the client restores it in ``--binary-mode`` (which turns off every client
command but ``DELIMITER`` and ``\\C``) and ``--sandbox`` where the client has it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import pymysql

from backproof.archive.manifest import Facts, SourceInfo, TableDigest
from backproof.archive.streams import Writer
from backproof.errors import RestoreError, SourceError
from backproof.process import read_pipeline, with_output_buffer, write_pipeline
from backproof.sources import mysql_catalog as catalog
from backproof.sources import mysql_checks, mysql_privileges, mysql_probe
from backproof.sources.base import (
    DataPartSink,
    DumpInfo,
    IntegrityReport,
    RestoreOptions,
    TableSize,
    missing_key_tables,
)
from backproof.sources.mysql_binlog import BinaryLogging, probe_binary_logging
from backproof.sources.mysql_digests import DIGEST_METHOD
from backproof.sources.mysql_import import checked_parts, import_parts, write_parts
from backproof.sources.mysql_stream import DumpScanner, KeyTable
from backproof.sources.mysql_tools import (
    CLIENT_TOOLS,
    DUMP_TOOLS,
    WHOLE_DATABASE,
    DumpScope,
    check_client,
    client_command,
    connect,
    dump_command,
    execute,
    find_tool,
    options_file,
    parse_version,
    password_of,
    reason,
    tool_version,
)
from backproof.sources.prefetch import read_ahead
from backproof.sources.scratch import current_marker, is_leftover, is_scratch_name
from backproof.sources.server_urls import ServerUrl, parse_server_url
from backproof.sources.verify_users import VerifyUserScript, verify_user_script
from backproof.storage.base import CHUNK_BYTES

logger = logging.getLogger(__name__)
DEFAULT_PORT = 3306
DUMP_FORMAT = "mysql-sql"
_SCRATCHES = (
    "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'verify\\\\_%' "
    "ORDER BY SCHEMA_NAME"
)


# The one approximation of this engine, said in every manifest and so in the report.
OBJECT_COUNTS_NOTE = (
    "tables, row counts and sampled rows are exact (read from the dump stream); the counts of "
    "views, triggers, routines and events come from the catalog just before the dump and are "
    "exact unless the schema changes during the backup"
)


class MysqlSource:
    """A MySQL or MariaDB database, or (for verify) such a server; ``unlogged``: a scratch
    database whose writes stay out of the binary log (``mysql_binlog``)."""

    engine = "mysql"
    extension = "sql"

    def __init__(
        self, server: ServerUrl, password: str | None = None, *, unlogged: bool = False
    ) -> None:
        self.server = server
        self.password = password_of(server, password)
        self.unlogged = unlogged

    @classmethod
    def from_url(cls, url: str, password: str | None = None) -> MysqlSource:
        """Return the source of the database ``url`` names (``password`` overrides the URL's)."""
        return cls(parse_server_url(url), password)

    def dump(
        self,
        sink: Writer,
        key_tables: Sequence[str],
        sample_rows: int,
        data_part: DataPartSink | None = None,  # one stream here: never used
    ) -> DumpInfo:
        """Stream the dump into ``sink``; return the facts read from the stream itself.

        Raises SourceError when the database cannot be read, has no tables or lacks a key
        table, or when the dump is truncated; PipelineError when the dump tool fails.
        """
        database = _database_of(self.server)
        where = f"MySQL/MariaDB {self.server.label}"
        tool = find_tool(DUMP_TOOLS)
        with connect(self.server, self.password, database) as connection:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT VERSION()")
                    server_version = str(cursor.fetchone()[0])
                    warnings = check_client(tool, parse_version(server_version))
                    tables = catalog.list_tables(cursor, database)
                    _check_tables(where, list(tables), key_tables)
                    keyed = {name: catalog.key_table(cursor, database, name) for name in key_tables}
                    objects = catalog.count_objects(cursor, database)
            except pymysql.MySQLError as exc:
                raise SourceError(f"cannot read {where}: {reason(exc)}") from exc
        warnings += [*catalog.non_transactional_warnings(tables), OBJECT_COUNTS_NOTE]
        scanner = self._stream_dump(tool, sink, keyed, sample_rows)
        counts = {
            name: rows for name, rows in scanner.tables.items() if name != catalog.MARKER_TABLE
        }
        _check_tables(f"the dump of {where}", list(counts), key_tables)
        digests, digest_warnings = scanner.digests.result(counts)
        facts = Facts(
            tables=counts,
            samples=scanner.samples(),
            objects=objects,
            digests=digests,
            digest_method=DIGEST_METHOD if digests else "",
            warnings=[*warnings, *digest_warnings],
        )
        info = SourceInfo(
            engine=self.engine,
            server_version=server_version,
            client_version=f"{tool} {tool_version(tool).text}",
            database=database,
        )
        return DumpInfo(DUMP_FORMAT, info, facts)

    def _stream_dump(
        self,
        tool: str,
        sink: Writer | None,
        keyed: dict[str, KeyTable],
        sample_rows: int,
        method: str = DIGEST_METHOD,
        scope: DumpScope = WHOLE_DATABASE,
    ) -> DumpScanner:
        """Dump this database (the part ``scope`` says) through a scanner into ``sink`` (None:
        only scanned, as verify digests a restored copy), its digests made by ``method``."""
        scanner = DumpScanner(keyed, sample_rows, method)

        def consume(stream: BinaryIO) -> None:
            for chunk in read_ahead(stream, CHUNK_BYTES):
                scanner.feed(chunk)
                if sink is not None:
                    sink.write(chunk)

        with options_file(self.password) as leading:
            command = dump_command(tool, leading, self.server, scope)
            read_pipeline([with_output_buffer(command)], consume)
        scanner.finish()
        return scanner

    def restore(
        self, dump: BinaryIO, dump_format: str, options: RestoreOptions | None = None
    ) -> None:
        """Load an SQL dump into this database (created when missing).

        Every statement is checked before the client receives it (``mysql_guard``): a dump
        that reaches beyond its database raises RefusedStatementError naming the statement and
        its line. Into a scratch database the definers of views, triggers, routines and events
        are left out (see ``mysql_definers``). With ``options.jobs`` above 1 the INSERT
        statements run over that many connections of their own (``mysql_import``). Raises
        RestoreError for another format or a failed INSERT, PipelineError when the client fails
        (it stops at the first error).
        """
        if dump_format != DUMP_FORMAT:
            raise RestoreError(f"a {dump_format} dump cannot be restored into MySQL/MariaDB")
        database = _database_of(self.server)
        execute(
            self.server,
            self.password,
            f"CREATE DATABASE IF NOT EXISTS {catalog.quote(database)} CHARACTER SET utf8mb4",
            unlogged=self.unlogged,
        )
        tool = find_tool(CLIENT_TOOLS)
        parts = checked_parts(dump, strip_definers=is_scratch_name(database))
        jobs = options.jobs if options is not None else 1
        with options_file(self.password) as leading:
            command = client_command(
                tool, leading, self.server, database, unbuffered=jobs > 1, unlogged=self.unlogged
            )
            if jobs == 1:
                write_pipeline([command], lambda feed: write_parts(parts, feed))
                return

            def run_client(produce: Callable[[BinaryIO], None], output: BinaryIO) -> None:
                write_pipeline([command], produce, stdout=output)

            opened = functools.partial(
                connect, self.server, self.password, database, unlogged=self.unlogged
            )
            import_parts(parts, run_client, opened, jobs)

    def inspect(self, expected: Facts) -> Facts:
        """Return the facts of this (restored) database.

        With table digests to compare, every table is read back (``_read_back``) and its row
        count is the one that read gives, not a ``SELECT COUNT(*)``: the backup's counts were
        read from its dump by the same scanner, and the read-back hands every row of every
        table to that scanner again, so a ``COUNT(*)`` would read the rows once more to tell
        the same number (at 1 GB: 2.4 s of the server's CPU, 376 MB read from disk). A table
        the read-back did not reach is still counted by ``COUNT(*)``. The read-back, the longest
        step, starts first: the sampled rows and the objects are read beside it, on a
        connection of their own.
        """
        database = _database_of(self.server)
        if not expected.digests:
            return self._read_facts(database, expected, count_rows=True)
        with connect(self.server, self.password, database) as connection:
            try:
                with connection.cursor() as cursor:
                    tables = list(catalog.list_tables(cursor, database))
                    sizes = catalog.table_sizes(cursor, database)
                as_bytes = catalog.text_tables(connection, database)
            except pymysql.MySQLError as exc:
                raise SourceError(f"cannot read {self.server.label}: {reason(exc)}") from exc
        # The digests are made by the method the manifest names (older backups: the older one).
        method = expected.digest_method
        with ThreadPoolExecutor(1, thread_name_prefix="facts") as pool:
            reading = pool.submit(self._read_facts, database, expected, count_rows=False)
            counts, digests = self._read_back(tables, sizes, as_bytes, expected.digests, method)
            facts = reading.result()
        uncounted = [name for name in facts.tables if name not in counts]
        if uncounted:
            counts.update(self._count_rows(database, uncounted))
        tables_read = {name: counts[name] for name in facts.tables}
        return facts.model_copy(
            update={"tables": tables_read, "digests": digests, "digest_method": method}
        )

    def _read_facts(self, database: str, expected: Facts, *, count_rows: bool) -> Facts:
        with connect(self.server, self.password, database) as connection:
            try:
                return catalog.read_facts(connection, database, expected, count_rows=count_rows)
            except pymysql.MySQLError as exc:
                raise SourceError(f"cannot read {self.server.label}: {reason(exc)}") from exc

    def _read_back(
        self,
        tables: list[str],
        sizes: dict[str, int],
        as_bytes: set[str],
        expected: dict[str, TableDigest],
        method: str,
    ) -> tuple[dict[str, int], dict[str, TableDigest]]:
        """Dump the restored copy and return the row count and the digest of each of
        ``tables`` the dump read.

        The restored copy is dumped with the same tool and options and read by the same
        scanner as the backup's dump: its rows print as they printed then. The tables of
        ``as_bytes`` (no binary column, only utf8mb4, utf8mb3 or ascii text) are dumped with
        their text sent and printed as its stored bytes (``DumpScope.text_as_bytes``), the
        others as the backup dumped them. For valid text both forms print the same characters;
        a byte that is not valid UTF-8 prints differently (utf8mb4 escapes a byte that starts
        no character, the stored bytes do not), but both forms are undone by the same
        unescaping into the stored bytes, so equal prints mean equal values. A table of the
        first kind whose digest differs from ``expected`` is therefore read again as the
        backup read it, and its digest is the one that read gives: a table passes exactly when
        it passes read as the backup read it.

        The largest table (by ``sizes``; more than half the data of a CRM) is dumped by a
        ``mariadb-dump`` of its own while another dumps the rest: two server threads print
        rows at once, each dump read by its own scanner.
        """
        tool = find_tool(DUMP_TOOLS)
        largest = min(tables, key=lambda name: (-sizes.get(name, 0), name)) if tables else ""
        rest = [name for name in tables if name != largest]
        if rest:
            shares = [_scopes([largest], as_bytes, rest), _scopes(rest, as_bytes, [largest])]
        else:
            shares = [_scopes(tables, as_bytes, [])]
        wanted = set(tables)
        with ThreadPoolExecutor(len(shares), thread_name_prefix="read-back") as pool:
            running = [
                pool.submit(self._read_scopes, tool, scopes, wanted, method) for scopes in shares
            ]
            read = [share.result() for share in running]
        counts: dict[str, int] = {}
        digests: dict[str, TableDigest] = {}
        for share_counts, share_digests in read:
            counts.update(share_counts)
            digests.update(share_digests)
        again = tuple(
            name
            for name in tables
            if name in as_bytes and name in expected and digests.get(name) != expected[name]
        )
        if again:
            self._read_part(tool, DumpScope(tables=again), wanted, method, counts, digests)
        return counts, digests

    def _read_scopes(
        self, tool: str, scopes: list[DumpScope], tables: set[str], method: str
    ) -> tuple[dict[str, int], dict[str, TableDigest]]:
        """Dump the parts ``scopes`` say, one after another; return the row count and the
        digest of each of ``tables`` they read."""
        counts: dict[str, int] = {}
        digests: dict[str, TableDigest] = {}
        for scope in scopes:
            self._read_part(tool, scope, tables, method, counts, digests)
        return counts, digests

    def _read_part(
        self,
        tool: str,
        scope: DumpScope,
        tables: set[str],
        method: str,
        counts: dict[str, int],
        digests: dict[str, TableDigest],
    ) -> None:
        """Dump the part ``scope`` says of the restored copy; put the row count and digest of
        each of ``tables`` it read into ``counts`` and ``digests`` (over an earlier read's)."""
        scanner = self._stream_dump(tool, None, {}, 0, method, scope)
        read = {name: rows for name, rows in scanner.tables.items() if name in tables}
        found, _warnings = scanner.digests.result(read)
        for name in read:
            digests.pop(name, None)
        counts.update(read)
        digests.update(found)

    def _count_rows(self, database: str, tables: list[str]) -> dict[str, int]:
        with connect(self.server, self.password, database) as connection:
            try:
                with connection.cursor() as cursor:
                    return catalog.count_table_rows(cursor, tables)
            except pymysql.MySQLError as exc:
                raise SourceError(f"cannot read {self.server.label}: {reason(exc)}") from exc

    def check_integrity(self, heapallindexed_max_bytes: int, jobs: int = 1) -> IntegrityReport:
        """Run ``CHECK TABLE`` on every base table of this database, on up to ``jobs``
        connections at once (the largest tables first)."""
        database = _database_of(self.server)
        return mysql_checks.check_tables(self.server, self.password, database, jobs)

    def query_value(self, sql: str, timeout_seconds: float) -> object:
        """Return the first value of ``sql``, run in a read-only transaction with a time limit."""
        database = _database_of(self.server)
        return mysql_checks.query_value(self.server, self.password, database, sql, timeout_seconds)

    def is_empty(self) -> bool:
        """Return True when the database is missing or has no tables or views."""
        rows = execute(
            self.server,
            self.password,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
            "AND TABLE_NAME <> %s",
            (_database_of(self.server), catalog.MARKER_TABLE),
        )
        return not rows or int(rows[0][0]) == 0

    def identity(self) -> tuple[str, ...]:
        """Return the engine, the server (this host's names as one), the port and the name."""
        return (self.engine, *self.server.place(DEFAULT_PORT))

    def describe_reachability(self) -> str:
        """Return the database reached, its server's version and the tools fit for it."""
        return mysql_probe.describe_reachability(self.server, self.password)

    def list_table_sizes(self) -> list[TableSize]:
        """Return the tables with their sizes, largest first."""
        return mysql_probe.list_table_sizes(self.server, self.password)

    def scratch_server(self, private_dir: Path) -> MysqlServer:
        """Return this database's own server: temporary databases go beside it."""
        return MysqlServer(self.server, self.password)


class MysqlServer:
    """A MySQL or MariaDB server where temporary ``verify_…`` databases are made: every
    session that writes them keeps out of the binary log where it may (``mysql_binlog``)."""

    engine = "mysql"

    def __init__(self, server: ServerUrl, password: str | None = None) -> None:
        self.server = server.with_database(None)
        self.password = password_of(server, password)

    @classmethod
    def from_url(cls, url: str, password: str | None = None) -> MysqlServer:
        """Return the server ``url`` names (``password`` overrides the URL's)."""
        return cls(parse_server_url(url), password)

    @property
    def local_folder(self) -> Path | None:
        """Return None: the scratch databases live on the server."""
        return None

    def create_scratch(self, name: str) -> MysqlSource:
        """Create the empty database ``name`` holding our marker table; return it."""
        table = f"{catalog.quote(name)}.{catalog.quote(catalog.MARKER_TABLE)}"
        self._execute(f"CREATE DATABASE {catalog.quote(name)} CHARACTER SET utf8mb4")
        self._execute(f"CREATE TABLE {table} (marker VARCHAR(255) NOT NULL)")
        self._execute(f"INSERT INTO {table} VALUES (%s)", (current_marker().text(),))
        unlogged = self.binary_logging.unlogged
        return MysqlSource(self.server.with_database(name), self.password, unlogged=unlogged)

    def drop_scratch(self, name: str) -> None:
        """Drop a scratch database."""
        if not is_scratch_name(name):
            raise SourceError(f"refusing to drop {name!r}: not a scratch database of backproof")
        self._execute(f"DROP DATABASE IF EXISTS {catalog.quote(name)}")

    def drop_leftover_scratches(self) -> list[str]:
        """Drop the ``verify_…`` databases with our marker whose run is gone; return them."""
        names = [str(row[0]) for row in self._execute(_SCRATCHES)]
        leftovers = [
            name
            for name in names
            if is_scratch_name(name) and is_leftover(name, self._marker_of(name))
        ]
        dropped = []
        for name in leftovers:
            try:
                self._execute(f"DROP DATABASE IF EXISTS {catalog.quote(name)}")
            except SourceError as exc:  # another user's: the next sweep tries again
                logger.warning("cannot drop the leftover %s: %s", name, exc)
                continue
            dropped.append(name)
        return dropped

    def verify_user_problems(self) -> list[str]:
        """Return what the user verify works as here may do beyond its scratch databases."""
        return mysql_privileges.verify_user_problems(self.server, self.password)

    @functools.cached_property
    def binary_logging(self) -> BinaryLogging:
        """Return whether this server logs binary and whether verify's user may turn it off
        (asked once)."""
        return probe_binary_logging(self.server, self.password)

    def verify_warnings(self) -> list[str]:
        """Return what binary logging here means for verify, and what to do: its scratch
        databases go into the log; triggers and functions are refused (``mysql_binlog``)."""
        return self.binary_logging.warnings(self.server.label)

    def verify_user_script(self, user: str, password: str, client_host: str) -> VerifyUserScript:
        """Return the SQL of a least-privileged verify ``user`` here, and the config lines."""
        return verify_user_script("mysql", self.server, user, password, client_host)

    def _marker_of(self, name: str) -> str | None:
        table = f"{catalog.quote(name)}.{catalog.quote(catalog.MARKER_TABLE)}"
        try:
            rows = self._execute(f"SELECT marker FROM {table} LIMIT 1")
        except SourceError:
            return None  # no marker table: not ours
        return str(rows[0][0]) if rows else None

    def _execute(self, statement: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        unlogged = self.binary_logging.unlogged
        return execute(self.server, self.password, statement, parameters, unlogged=unlogged)


def _scopes(tables: list[str], as_bytes: set[str], others: list[str]) -> list[DumpScope]:
    """Return the dumps that read ``tables`` of the restored copy and not ``others``: those
    of ``as_bytes`` with their text as its stored bytes, the others as the backup dumped them."""
    fast = tuple(name for name in tables if name in as_bytes)
    slow = tuple(name for name in tables if name not in as_bytes)
    scopes = []
    if fast:
        scopes.append(DumpScope(ignored=(*slow, *others), text_as_bytes=True))
    if slow:
        scopes.append(DumpScope(tables=slow) if fast or others else WHOLE_DATABASE)
    return scopes


def _database_of(server: ServerUrl) -> str:
    if not server.database:
        raise SourceError(f"the URL of {server.label} names no database")
    return server.database


def _check_tables(where: str, tables: list[str], key_tables: Sequence[str]) -> None:
    if not tables:
        raise SourceError(f"{where} has no tables: nothing to back up")
    absent = missing_key_tables(tables, key_tables)
    if absent:
        raise SourceError(f"key table {', '.join(absent)} not in {where}: fix targets[].key_tables")
