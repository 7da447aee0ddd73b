"""PostgreSQL: pg_dump's custom format streamed from one exported snapshot, restored by pg_restore.

The dump and its facts share one snapshot: backproof opens a REPEATABLE READ transaction,
exports its snapshot, and runs ``pg_dump --snapshot`` while counting rows and sampling the key
tables in that same transaction, which stays open until pg_dump is done. So the facts describe
exactly what the dump holds, whatever the application writes meanwhile. pg_dump takes only
ACCESS SHARE locks, which block no reads and no writes (only DDL waits).

The custom format is data, never a program: pg_restore runs no client meta-commands, whatever
the dump holds. It restores owners and privileges out (``--no-owner --no-privileges``): the
roles of the source may not exist where it is restored.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import psycopg
from psycopg import IsolationLevel

from backproof.archive.manifest import Facts, SourceInfo
from backproof.archive.streams import Writer
from backproof.errors import PipelineError, RestoreError, SourceError
from backproof.process import (
    read_pipeline,
    with_output_buffer,
)
from backproof.sources import postgresql_catalog as catalog
from backproof.sources import postgresql_checks, postgresql_privileges, postgresql_probe
from backproof.sources.base import (
    DataPartSink,
    DumpInfo,
    IntegrityReport,
    RestoreOptions,
    TableSize,
    missing_key_tables,
)
from backproof.sources.postgresql_databases import (
    create_database,
    database_exists,
    drop_database,
    empty_database,
)
from backproof.sources.postgresql_digests import (
    DIGEST_METHOD,
    DumpDigests,
    RestoredTableDigests,
    digest_database,
    verify_method,
)
from backproof.sources.postgresql_roles import ImportLogin, drop_leftover_role, import_login
from backproof.sources.postgresql_sections import Restorer, restore_spool, restore_stream
from backproof.sources.postgresql_spool import require_spool_space, spooled_archive
from backproof.sources.postgresql_streams import (
    DataStream,
    JointDigests,
    choose_data_tables,
    consume_streams,
)
from backproof.sources.postgresql_tools import (
    DUMP_TOOL,
    RESTORE_TOOL,
    connect,
    dump_command,
    require_client_for,
    translate,
)
from backproof.sources.postgresql_wal import WalShipping, probe_wal_shipping
from backproof.sources.scratch import current_marker, is_leftover, is_scratch_name
from backproof.sources.server_urls import ServerUrl, parse_server_url
from backproof.sources.verify_users import VerifyUserScript, verify_user_script

logger = logging.getLogger(__name__)
DEFAULT_PORT = 5432
DUMP_FORMAT = "postgresql-custom"
# Kinds of relation that make a database "not empty" for a restore.
_RELATION_KINDS = "('r', 'p', 'v', 'm', 'S', 'f')"
_HAS_RELATIONS = f"""
SELECT EXISTS (SELECT 1 FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN {_RELATION_KINDS} AND {catalog.USER_SCHEMA})
"""
_SCRATCHES = (
    "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
    "WHERE datname LIKE 'verify\\_%' ORDER BY datname"
)


class PostgresqlSource:
    """A PostgreSQL database, or (for verify) a PostgreSQL server."""

    engine = "postgresql"
    extension = "pgdump"

    def __init__(self, server: ServerUrl, password: str | None = None) -> None:
        self.server = server
        self.password = password if password is not None else server.password
        # The digests read while a parallel restore went on, for ``inspect`` to complete.
        self._restored_digests: RestoredTableDigests | None = None

    @classmethod
    def from_url(cls, url: str, password: str | None = None) -> PostgresqlSource:
        """Return the source of the database ``url`` names (``password`` overrides the URL's)."""
        return cls(parse_server_url(url), password)

    def dump(
        self,
        sink: Writer,
        key_tables: Sequence[str],
        sample_rows: int,
        data_part: DataPartSink | None = None,
    ) -> DumpInfo:
        """Stream ``pg_dump -Fc`` into ``sink``; return the facts of its snapshot. With
        ``data_part``, the largest tables' rows go there, dumped by a second pg_dump on the
        same snapshot (``postgresql_streams``), when one is large enough.

        Raises SourceError when the database cannot be read, has no tables or lacks a key
        table; PipelineError when pg_dump fails.
        """
        where = f"PostgreSQL {self.server.label}"
        with connect(self.server, self.password) as connection:
            client_version = require_client_for(DUMP_TOOL, connection.info.server_version)
            connection.isolation_level = IsolationLevel.REPEATABLE_READ
            connection.read_only = True
            cursor = connection.cursor()
            try:
                cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
                snapshot, server_version = cursor.fetchone() or ("", "")
                tables = catalog.list_tables(cursor)
                apart = [] if data_part is None else choose_data_tables(cursor, tables)
            except psycopg.Error as exc:
                raise translate(exc, f"cannot read {where}") from exc
            _check_tables(where, tables, key_tables)

            def read_facts() -> Facts:
                # Only the key tables are counted by a query (their samples are spread by
                # it); the others' rows are counted in the dump stream: the source is read once.
                try:
                    return catalog.read_facts(
                        cursor, tables, key_tables, sample_rows, None, counted=key_tables
                    )
                except psycopg.Error as exc:
                    raise translate(exc, f"cannot read the facts of {where}") from exc

            server, password, snapshot = self.server, self.password, str(snapshot)
            first = dump_command(server, password, snapshot, without_data_of=apart)
            second = None
            if data_part is not None and apart:
                rows = dump_command(server, password, snapshot, data_only=True, tables=apart)
                second = DataStream(with_output_buffer(rows), data_part)
            digests = DumpDigests()
            try:
                # The facts are read while pg_dump runs, in the snapshot it imported; the
                # digests of the tables are read from the streams themselves.
                facts = read_pipeline(
                    [with_output_buffer(first)],
                    lambda stream: consume_streams(stream, sink, digests, read_facts, second),
                )
            except PipelineError as exc:
                # A failed query of the facts aborts the transaction, so pg_dump then fails to
                # import its snapshot: the query's error is the one that explains.
                if isinstance(exc.__cause__, SourceError):
                    raise exc.__cause__ from exc
                raise
            joint = JointDigests(digests, *([second.digests] if second is not None else []))
            facts = _with_digests(facts, _complete_counts(cursor, tables, facts, joint), joint)
            connection.rollback()
        info = SourceInfo(
            engine=self.engine,
            server_version=str(server_version),
            client_version=f"{DUMP_TOOL} {client_version}",
            database=self.server.database or "",
        )
        return DumpInfo(DUMP_FORMAT, info, facts)

    def restore(
        self, dump: BinaryIO, dump_format: str, options: RestoreOptions | None = None
    ) -> None:
        """Restore a custom-format dump into this database (created when missing).

        Into a scratch database pg_restore logs in as a role that owns it and nothing else
        (``postgresql_roles``). Over a database that is not empty (``restore --force``) its
        schemas and large objects are dropped first. With ``options.jobs`` above 1 and a known
        size, the dump is spooled to a local file and restored by ``pg_restore --jobs``; with
        ``options.digest_method`` too, each large table is read back for its digest as soon as
        its data is restored, while the restore goes on (``inspect`` reads the rest). With
        ``options.data_part`` (a dump in two streams), the archive's sections and the data part
        are restored in their order (``postgresql_sections``).
        Raises RestoreError for another format or a spool folder without the space (before
        anything starts), PipelineError when pg_restore fails (it stops at the first error).
        """
        if dump_format != DUMP_FORMAT:
            raise RestoreError(f"a {dump_format} dump cannot be restored into PostgreSQL")
        options = options or RestoreOptions()
        parallel = options.jobs > 1 and options.raw_size_bytes > 0
        spool_dir = options.spool_dir or Path(tempfile.gettempdir())
        if parallel:
            require_spool_space(spool_dir, options.raw_size_bytes)
        method = None if options.digest_method is None else verify_method(options.digest_method)
        target = self.server
        database = target.database or ""
        if not database_exists(target, self.password, database):
            create_database(target.with_database(None), self.password, database, marker=None)
        if not self.is_empty():
            empty_database(target, self.password)
        with connect(target, self.password, database) as connection:
            require_client_for(RESTORE_TOOL, connection.info.server_version)
        login = import_login if is_scratch_name(database) else _own_login
        with login(target, self.password, database) as importer:
            restorer = Restorer(importer.server, importer.password, database)
            if not parallel:
                restore_stream(dump, restorer, options.data_part)
                return
            with spooled_archive(dump, spool_dir, options.raw_size_bytes) as spool:
                reading = None
                if method is not None:
                    reading = RestoredTableDigests(target, self.password, database, method)
                try:
                    restore_spool(spool, restorer, options.jobs, reading, options.data_part)
                finally:
                    if reading is not None:
                        reading.close()
                self._restored_digests = reading

    def inspect(self, expected: Facts) -> Facts:
        """Return the facts of this (restored) database.

        When ``expected`` has digests, they are made again with the method it names, and
        that read of every row also counts them: only the tables it did not digest are counted
        by a query (the copy is read once, as the source is at backup time). Raises
        SourceError when that method is unknown here.
        """
        target = self.server
        method = verify_method(expected.digest_method) if expected.digests else ""
        restored, self._restored_digests = self._restored_digests, None
        if not method:
            digests = {}
        elif restored is not None and restored.method == method:
            digests = restored.finish()
        else:
            digests = digest_database(target, self.password, target.database or "", method)
        with connect(target, self.password, autocommit=True) as connection:
            try:
                cursor = connection.cursor()
                tables = catalog.list_tables(cursor)
                keys = list(expected.samples)
                uncounted = [table.label for table in tables if table.label not in digests]
                facts = catalog.read_facts(cursor, tables, keys, 0, expected, counted=uncounted)
            except psycopg.Error as exc:
                raise translate(exc, f"cannot read PostgreSQL {target.label}") from exc
        if not expected.digests:
            return facts
        counts = {**{label: digest.rows for label, digest in digests.items()}, **facts.tables}
        plain = [table.label for table in tables if table.kind == "r"]
        return facts.model_copy(
            update={
                "tables": {label: counts[label] for label in plain if label in counts},
                "digests": digests,
                "digest_method": method,
            }
        )

    def check_integrity(self, heapallindexed_max_bytes: int, jobs: int = 1) -> IntegrityReport:
        """Run amcheck's ``bt_index_check`` on every B-tree index of this database, on up to
        ``jobs`` connections at once."""
        try:
            return postgresql_checks.check_indexes(
                self.server, self.password, heapallindexed_max_bytes, jobs
            )
        except psycopg.Error as exc:
            raise translate(exc, f"cannot check the indexes of {self.server.label}") from exc

    def query_value(self, sql: str, timeout_seconds: float) -> object:
        """Return the first value of ``sql``, run read-only with a statement timeout."""
        return postgresql_checks.query_value(self.server, self.password, sql, timeout_seconds)

    def is_empty(self) -> bool:
        """Return True when the database is missing or holds no tables, views or sequences."""
        if not database_exists(self.server, self.password, self.server.database or ""):
            return True
        with connect(self.server, self.password, autocommit=True) as connection:
            row = connection.execute(_HAS_RELATIONS).fetchone()
        return not (row and row[0])

    def identity(self) -> tuple[str, ...]:
        """Return the engine, the server (this host's names as one), the port and the name."""
        return (self.engine, *self.server.place(DEFAULT_PORT))

    def describe_reachability(self) -> str:
        """Return the database reached, its server's version and the tools fit for it."""
        return postgresql_probe.describe_reachability(self.server, self.password)

    def list_table_sizes(self) -> list[TableSize]:
        """Return the tables with their sizes, largest first."""
        return postgresql_probe.list_table_sizes(self.server, self.password)

    def scratch_server(self, private_dir: Path) -> PostgresqlServer:
        """Return this database's own server: temporary databases go beside it."""
        return PostgresqlServer(self.server, self.password)


class PostgresqlServer:
    """A PostgreSQL server where temporary ``verify_…`` databases are made."""

    engine = "postgresql"

    def __init__(self, server: ServerUrl, password: str | None = None) -> None:
        self.server = server
        self.password = password if password is not None else server.password

    @classmethod
    def from_url(cls, url: str, password: str | None = None) -> PostgresqlServer:
        """Return the server ``url`` names (``password`` overrides the URL's)."""
        return cls(parse_server_url(url), password)

    @property
    def local_folder(self) -> Path | None:
        """Return None: the scratch databases live on the server."""
        return None

    def create_scratch(self, name: str) -> PostgresqlSource:
        """Create the empty database ``name``, commented with our marker; return it."""
        create_database(self.server, self.password, name, marker=current_marker().text())
        return PostgresqlSource(self.server.with_database(name), self.password)

    def drop_scratch(self, name: str) -> None:
        """Drop a scratch database, closing any session still connected to it."""
        if not is_scratch_name(name):
            raise SourceError(f"refusing to drop {name!r}: not a scratch database of backproof")
        server = self.server if self.server.database != name else self.server.with_database(None)
        drop_database(server, self.password, name)

    def drop_leftover_scratches(self) -> list[str]:
        """Drop the ``verify_…`` databases with our marker whose run is gone; return them."""
        with connect(self.server, self.password, autocommit=True) as connection:
            rows = connection.execute(_SCRATCHES).fetchall()
        leftovers = [name for name, comment in rows if is_leftover(name, comment)]
        dropped = []
        for name in leftovers:
            try:
                drop_database(self.server, self.password, name)
            except SourceError as exc:  # another user's, or in use: the next sweep tries again
                logger.warning("cannot drop the leftover %s: %s", name, exc)
                continue
            drop_leftover_role(self.server, self.password, name)
            dropped.append(name)
        return dropped

    def verify_user_problems(self) -> list[str]:
        """Return what the user verify works as here may do beyond its scratch databases."""
        return postgresql_privileges.verify_user_problems(self.server, self.password)

    def verify_user_script(self, user: str, password: str, client_host: str) -> VerifyUserScript:
        """Return the SQL of a least-privileged verify ``user`` here, and the config lines."""
        return verify_user_script("postgresql", self.server, user, password, client_host)

    @functools.cached_property
    def wal_shipping(self) -> WalShipping:
        """Return where this server ships its WAL: standbys, archive (asked once)."""
        return probe_wal_shipping(self.server, self.password)

    def verify_warnings(self) -> list[str]:
        """Return what the WAL here means for verify, and what to do: standbys replay and an
        archive stores each scratch database; a standby cannot hold one (``postgresql_wal``)."""
        return self.wal_shipping.warnings(self.server.label)


@contextlib.contextmanager
def _own_login(server: ServerUrl, password: str | None, _database: str) -> Iterator[ImportLogin]:
    """``restore --to`` imports as the user of the URL the operator named."""
    yield ImportLogin(server, password)


def _check_tables(where: str, tables: list[catalog.Table], key_tables: Sequence[str]) -> None:
    if not tables:
        raise SourceError(f"{where} has no tables: nothing to back up")
    absent = missing_key_tables([table.label for table in tables], key_tables)
    if absent:
        raise SourceError(f"key table {', '.join(absent)} not in {where}: fix targets[].key_tables")


def _complete_counts(
    cursor: catalog.Cursor, tables: list[catalog.Table], facts: Facts, digests: JointDigests
) -> dict[str, int]:
    """Return the row count of every plain table: the key tables' as counted, the others' as
    the dump stream held them, and those the stream could not give counted now, in the dump's
    snapshot (the transaction that exported it is still open)."""
    counts = {**digests.row_counts(), **facts.tables}
    plain = {table.label for table in tables if table.kind == "r"}
    missing = [table for table in tables if table.label in plain - set(counts)]
    try:
        counts.update(catalog.count_rows(cursor, missing))
    except psycopg.Error as exc:
        raise translate(exc, "cannot count the rows of the dumped tables") from exc
    return {table.label: counts[table.label] for table in tables if table.label in plain}


def _with_digests(facts: Facts, counts: dict[str, int], digests: JointDigests) -> Facts:
    """Return ``facts`` with every table's row count and the digests of the tables read from
    the dump stream (those whose rows agree with the counts)."""
    recorded, warnings = digests.result(counts)
    return facts.model_copy(
        update={
            "tables": counts,
            "digests": recorded,
            "digest_method": DIGEST_METHOD if recorded else "",
            "warnings": [*facts.warnings, *warnings],
        }
    )
