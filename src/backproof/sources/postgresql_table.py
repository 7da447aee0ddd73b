"""One table of a PostgreSQL backup restored into another database (``restore --table``).

The custom archive's table of contents is read from the head of the stream; the entries picked
are the table, its rows, and what depends on the table alone: its indexes, primary key,
unique and check constraints, comments, statistics, and the sequences it owns with their
column defaults (a foreign key, a trigger, a policy or anything that names another object is
left out: the database may lack it). pg_restore restores the picked entries (``--use-list``)
in one transaction, so a failure leaves the database as it was; ``replace`` adds ``--clean
--if-exists``, which drops them first in that same transaction. pg_restore stops reading the
archive once it has what it picked: that early end is its success.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import replace as replaced
from pathlib import Path
from typing import BinaryIO

import psycopg
from psycopg import sql

from backproof.errors import RestoreError
from backproof.process import Command, write_pipeline
from backproof.sources.base import DataPartOpener
from backproof.sources.postgresql_archive import TocEntry
from backproof.sources.postgresql_labels import PUBLIC_SCHEMA
from backproof.sources.postgresql_table_rows import read_head, restore_rows_from_part, write_listing
from backproof.sources.postgresql_tools import (
    RESTORE_TOOL,
    connect,
    require_client_for,
    restore_command,
    translate,
)
from backproof.sources.server_urls import parse_server_url
from backproof.storage.base import CHUNK_BYTES

DUMP_FORMAT = "postgresql-custom"
# What comes with a table when it depends on the table alone (and on what came with it).
TABLE_PARTS = frozenset(
    {
        "TABLE DATA",
        "CONSTRAINT",
        "CHECK CONSTRAINT",
        "INDEX",
        "COMMENT",
        "STATISTICS",
        "SEQUENCE",
        "SEQUENCE OWNED BY",
        "SEQUENCE SET",
        "DEFAULT",
    }
)
_DATABASE_EXISTS = "SELECT count(*) FROM pg_database WHERE datname = %s"
_TABLE_EXISTS = (
    "SELECT count(*) FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND c.relname = %s"
)


def split_label(label: str) -> tuple[str, str]:
    """Return the schema and name of a table labelled as in the facts (``postgresql_labels``):
    ``companies`` is ``public.companies``, ``"a.b"`` the table ``a.b`` of ``public``."""
    parts: list[str] = []
    position = 0
    while position < len(label):
        if label.startswith('"', position):
            end = position + 1
            while not (label.startswith('"', end) and not label.startswith('""', end)):
                end += 2 if label.startswith('""', end) else 1
            parts.append(label[position + 1 : end].replace('""', '"'))
            position = end + 2  # past the closing quote and the dot
        else:
            dot = label.find(".", position)
            end = len(label) if dot < 0 else dot
            parts.append(label[position:end])
            position = end + 1
    if len(parts) == 1:
        return PUBLIC_SCHEMA, parts[0]
    return parts[0], parts[1]


class PostgresqlTable:
    """A PostgreSQL database that receives one table of a backup."""

    def __init__(self, url: str) -> None:
        self.server = parse_server_url(url)
        self.password = self.server.password
        self.database = self.server.database or ""

    def exists(self) -> bool:
        """Return True when the database exists."""
        with connect(self.server.with_database(None), self.password, autocommit=True) as link:
            row = link.execute(_DATABASE_EXISTS, (self.database,)).fetchone()
        return bool(row and row[0])

    def has_table(self, label: str) -> bool:
        """Return True when the database has a relation of that schema and name."""
        with connect(self.server, self.password, autocommit=True) as link:
            row = link.execute(_TABLE_EXISTS, split_label(label)).fetchone()
        return bool(row and row[0])

    def count_rows(self, label: str) -> int:
        """Return the number of rows of the table (its own, not its partitions')."""
        schema, name = split_label(label)
        query = sql.SQL("SELECT count(*) FROM ONLY {}.{}").format(
            sql.Identifier(schema), sql.Identifier(name)
        )
        with connect(self.server, self.password, autocommit=True) as link:
            try:
                row = link.execute(query).fetchone()
            except psycopg.Error as exc:
                raise translate(exc, f"cannot count the rows of {label}") from exc
        return int(row[0]) if row else 0

    def restore_table(
        self,
        dump: BinaryIO,
        dump_format: str,
        label: str,
        replace: bool,
        data_part: DataPartOpener | None = None,
    ) -> None:
        """Restore the table ``label`` of the custom archive ``dump`` with what comes with it
        (see the module), its schema created when missing; its rows from ``data_part`` (the
        backup's second stream) when ``dump`` lacks them and that part holds them.

        Raises RestoreError for another format, PipelineError when pg_restore fails (nothing
        of the table then stays).
        """
        if dump_format != DUMP_FORMAT:
            raise RestoreError(f"a {dump_format} dump cannot be restored into PostgreSQL")
        schema, name = split_label(label)
        with connect(self.server, self.password, autocommit=True) as link:
            require_client_for(RESTORE_TOOL, link.info.server_version)
            try:
                link.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                )
            except psycopg.Error as exc:
                raise translate(exc, f"cannot create the schema {schema!r}") from exc
        head, entries = read_head(dump)
        picked = pick_entries(entries, schema, name)
        if data_part is not None and not has_table_data(entries, picked):
            rows_elsewhere = restore_rows_from_part(self, label, head, picked, data_part, replace)
            if rows_elsewhere:
                return

        def produce(feed: BinaryIO) -> None:
            feed.write(head)
            while chunk := dump.read(CHUNK_BYTES):
                feed.write(chunk)

        with tempfile.TemporaryDirectory(prefix="backproof-") as folder:
            listing = write_listing(Path(folder), picked)
            command = self.command(listing, replace)
            write_pipeline([command], produce, may_stop_reading=True)

    def command(self, listing: Path, replace: bool, selection: Sequence[str] = ()) -> Command:
        """Return pg_restore of the entries ``listing`` names, in one transaction (dropped
        first when ``replace``), only those of the sections ``selection`` picks when given."""
        command = restore_command(self.server, self.password, self.database, selection=selection)
        picked: tuple[str, ...] = ("--single-transaction", f"--use-list={listing}")
        if replace:
            picked = (*picked, "--clean", "--if-exists")
        return replaced(command, argv=(*command.argv, *picked))

    def drop_table(self, label: str) -> None:
        """Drop the table ``label`` when it exists (what a failed restore left of it)."""
        schema, name = split_label(label)
        statement = sql.SQL("DROP TABLE IF EXISTS {}.{}").format(
            sql.Identifier(schema), sql.Identifier(name)
        )
        with connect(self.server, self.password, autocommit=True) as link:
            try:
                link.execute(statement)
            except psycopg.Error as exc:
                raise translate(exc, f"cannot drop the table {label}") from exc


def pick_entries(entries: list[TocEntry], schema: str, name: str) -> list[int]:
    """Return the dump ids of the table ``schema.name`` and of the entries that depend on it
    alone (``TABLE_PARTS``), in the archive's order.

    Raises RestoreError when the archive has no such table.
    """
    table = next(
        (
            entry
            for entry in entries
            if entry.description == "TABLE" and (entry.namespace, entry.tag) == (schema, name)
        ),
        None,
    )
    if table is None:
        raise RestoreError(f"the archive has no table {schema}.{name}")
    picked = {table.dump_id}
    for entry in entries:  # pg_dump orders the entries after what they depend on
        depends = set(entry.dependencies)
        if entry.description in TABLE_PARTS and depends and depends <= picked:
            picked.add(entry.dump_id)
    return [entry.dump_id for entry in entries if entry.dump_id in picked]


def has_table_data(entries: list[TocEntry], picked: list[int]) -> bool:
    """Return True when the picked entries hold the table's rows (a TABLE DATA entry)."""
    wanted = set(picked)
    return any(entry.description == "TABLE DATA" and entry.dump_id in wanted for entry in entries)
