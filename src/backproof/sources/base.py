"""The source interface: one module per database engine exposes the same operations.

A source dumps one consistent snapshot into a writer and records the facts of that snapshot;
it restores a dump into an empty database; it reads the facts of a restored database for
verify; and it makes and drops the temporary ``verify_…`` databases, marked as ours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from backproof.archive.manifest import Facts, SourceInfo
from backproof.archive.streams import Precompressed, Writer
from backproof.sources.verify_users import VerifyUserScript

SCRATCH_PREFIX = "verify_"
# Opens the decoded second stream of a dump in two (the part ``db-data``), when it is needed.
DataPartOpener = Callable[[], AbstractContextManager[BinaryIO]]


@dataclass(frozen=True)
class DumpInfo:
    """What a dump was: its format, its origin and its facts."""

    format: str
    source: SourceInfo
    facts: Facts


@dataclass(frozen=True)
class RestoreOptions:
    """How a restore may run where its engine can use it: ``jobs`` parallel workers, with a
    seekable copy of the dump (the spool, ``raw_size_bytes`` large; 0 when unknown: the dump
    then streams) written in ``spool_dir`` first (issue 12). ``digest_method``: a verify's,
    the method of the table digests it will read from the restored copy (None: none); an
    engine may start reading them while it restores (PostgreSQL with ``jobs`` above 1).
    ``data_part``: the backup's second stream (``DATA_PART``), for an engine that dumps in two;
    None when the backup has one stream."""

    jobs: int = 1
    spool_dir: Path | None = None
    raw_size_bytes: int = 0
    digest_method: str | None = None
    data_part: DataPartOpener | None = None


class DataPartSink(Protocol):
    """Where a dump in two streams writes its second (the part ``DATA_PART``, issue 12)."""

    def write(
        self, produce: Callable[[Writer], None], precompressed: Precompressed | None = None
    ) -> None:
        """Store what ``produce`` writes as the part; return once it is stored. Raises what
        ``produce`` raised, or the storage's error. ``precompressed``: the bytes were
        compressed as they were produced, before the part was opened (``jobs.early_dump``)."""
        ...


@dataclass(frozen=True)
class IntegrityReport:
    """What the database's own checks said of a restored copy: how many of ``what`` they
    checked, one line per problem, and why nothing was checked when ``skipped``."""

    checked: int
    what: str
    problems: list[str] = field(default_factory=list)
    skipped: str = ""


@dataclass(frozen=True)
class TableSize:
    """One table as ``init`` sees it: its name in facts and how much it holds."""

    name: str
    size_bytes: int
    rows: int


def largest_first(sizes: list[TableSize]) -> list[TableSize]:
    """Return ``sizes`` largest first (rows, then names, break ties)."""
    return sorted(sizes, key=lambda table: (-table.size_bytes, -table.rows, table.name))


class DatabaseSource(Protocol):
    """One database of one engine, opened from its URL by ``registry.open_database``: every
    operation acts on that database and no other, so none takes a URL again."""

    engine: str
    extension: str

    def dump(
        self,
        sink: Writer,
        key_tables: Sequence[str],
        sample_rows: int,
        data_part: DataPartSink | None = None,
    ) -> DumpInfo:
        """Write one consistent dump into ``sink``; return its facts. An engine that dumps
        in two streams writes the second into ``data_part`` when one is given (and when the
        database is large enough to gain from it).

        Raises SourceError when the database cannot be read, is empty, or lacks a key table,
        and PipelineError when a dump tool fails.
        """
        ...

    def restore(
        self, dump: BinaryIO, dump_format: str, options: RestoreOptions | None = None
    ) -> None:
        """Load a dump (decompressed, decrypted stream) into this database, created when
        missing; ``options`` say how far it may run in parallel (engines that cannot ignore
        them)."""
        ...

    def inspect(self, expected: Facts) -> Facts:
        """Return the facts of this database: tables, row counts, objects, and the checksums
        of the rows that ``expected`` sampled (looked up by their keys)."""
        ...

    def check_integrity(self, heapallindexed_max_bytes: int, jobs: int = 1) -> IntegrityReport:
        """Run the engine's own integrity checks on this (restored) database, on up to
        ``jobs`` connections at once where the engine can."""
        ...

    def query_value(self, sql: str, timeout_seconds: float) -> object:
        """Return the first value of a read-only query on this database (None when it has no
        row). Raises SourceError when it fails or runs out of time."""
        ...

    def is_empty(self) -> bool:
        """Return True when this database has no tables (or does not exist yet)."""
        ...

    def identity(self) -> tuple[str, ...]:
        """Return what names this database however its URL is spelled (its engine, then its
        file, or its server, port and name): two sources with one identity are one database."""
        ...

    def describe_reachability(self) -> str:
        """Return one line for ``doctor``: the database reached, and the tools found fit for
        its server. Raises SourceError (or ConfigError) saying what is missing."""
        ...

    def list_table_sizes(self) -> list[TableSize]:
        """Return the tables of this database, largest first (``init``).

        Raises SourceError when the database cannot be reached (the server's reason in the
        message).
        """
        ...

    def scratch_server(self, private_dir: Path) -> ScratchServer:
        """Return where temporary copies of this database go when ``verify.url`` is not set:
        a server engine answers its own server; a file-based engine a folder under
        ``private_dir`` (backproof's private state folder)."""
        ...


class ScratchServer(Protocol):
    """Where temporary ``verify_…`` databases are made, opened from ``verify.url`` by
    ``registry.open_server`` (or by ``DatabaseSource.scratch_server``)."""

    engine: str

    @property
    def local_folder(self) -> Path | None:
        """Return the folder of this host where the scratch copies go, or None when they go
        to a database server (``doctor`` measures the free space of the folder)."""
        ...

    def create_scratch(self, name: str) -> DatabaseSource:
        """Create an empty temporary database called ``name``, marked as backproof's; return
        it opened."""
        ...

    def drop_scratch(self, name: str) -> None:
        """Drop the temporary database ``name`` made by ``create_scratch``.

        Raises SourceError for a name that is not a scratch database's.
        """
        ...

    def drop_leftover_scratches(self) -> list[str]:
        """Drop temporary databases left by crashed runs: ours by name pattern and marker,
        never anything else. Return their names."""
        ...

    def verify_user_problems(self) -> list[str] | None:
        """Return what the user verify works as here may do beyond its scratch databases
        (``doctor``; empty: nothing), or None where there are no users (files). A first line
        starting ``cannot`` says verify cannot work as that user at all."""
        ...

    def verify_user_script(self, user: str, password: str, client_host: str) -> VerifyUserScript:
        """Return the SQL that makes a least-privileged verify ``user`` here, and the config
        lines (``setup verify-user``). Raises UsageError where there are no users."""
        ...

    def verify_warnings(self) -> list[str]:
        """Return what a verify here should tell the operator about this server, each with
        what to do (MySQL/MariaDB: binary logging that writes the scratch databases into the
        log, or refuses their triggers and functions; PostgreSQL: standbys and a WAL archive
        that receive them, or a standby that cannot hold them); empty when nothing. Raises
        SourceError when the server cannot be asked."""
        ...


def scratch_name(target: str, stamp: str, random_suffix: str) -> str:
    """Return the name of a temporary database: ``verify_<target>_<utc>_<random>``."""
    safe_target = "".join(char if char.isalnum() else "_" for char in target.lower())
    return f"{SCRATCH_PREFIX}{safe_target}_{stamp.lower()}_{random_suffix}"


def missing_key_tables(tables: Sequence[str], key_tables: Sequence[str]) -> list[str]:
    """Return the key tables that are not among ``tables``."""
    present = set(tables)
    return [table for table in key_tables if table not in present]
