"""SQLite: a consistent copy through SQLite's online backup API, stored as the database file.

SQLite has no dump tool worth streaming: its backup API gives a consistent snapshot while the
application writes, and the snapshot file restores by being copied back. The snapshot is the
one temporary copy the engine forces; it lives in a private temporary folder and is deleted
as soon as it has been streamed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote as quote_path
from urllib.parse import unquote, urlsplit

from backproof.archive.manifest import Facts, SourceInfo
from backproof.archive.streams import Writer
from backproof.errors import RestoreError, SourceError, UsageError
from backproof.privacy import make_private_dir, open_private_file
from backproof.sources import sqlite_checks
from backproof.sources.base import (
    SCRATCH_PREFIX,
    DataPartSink,
    DumpInfo,
    IntegrityReport,
    RestoreOptions,
    TableSize,
    missing_key_tables,
)
from backproof.sources.sqlite_facts import read_facts, table_names, table_sizes
from backproof.sources.sqlite_scratch import (
    MARKER_SUFFIX,
    SCRATCH_FILE_SUFFIXES,
    SCRATCH_SUFFIX,
    drop_leftover_scratch,
    is_leftover_scratch,
    write_scratch_marker,
)
from backproof.sources.verify_users import VerifyUserScript
from backproof.storage.base import CHUNK_BYTES

DUMP_FORMAT = "sqlite-database"
JOURNAL_SUFFIXES = ("-wal", "-shm", "-journal")


def sqlite_path(url: str) -> Path:
    """Return the file of a ``sqlite:///path`` URL (made absolute by the config loader)."""
    path = unquote(urlsplit(url).path)
    return Path(path[1:] if path.startswith("//") else path)


def sqlite_url(path: Path) -> str:
    """Return the ``sqlite:///`` URL of an absolute path, quoted: ``#``, ``?`` and ``%`` survive."""
    return f"sqlite:///{quote_path(str(path))}"


@contextlib.contextmanager
def connect(
    path: Path, *, read_only: bool, immutable: bool = False
) -> Iterator[sqlite3.Connection]:
    """Open ``path``; read-only connections never create the file.

    ``immutable`` is for files only backproof touches (snapshots, scratch copies): SQLite then
    takes no locks and leaves no ``-wal``/``-shm`` files beside them.
    """
    # Quoted: in a URI filename, ``?``, ``#`` and ``%`` of a folder name would mean something else.
    uri = f"file:{quote_path(str(path))}?mode={'ro' if read_only else 'rwc'}"
    uri += "&immutable=1" if immutable else ""
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise SourceError(f"cannot open SQLite database {path}: {exc}") from exc
    try:
        yield connection
    finally:
        connection.close()


class SqliteSource:
    """A SQLite database file."""

    engine = "sqlite"
    extension = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def from_url(cls, url: str) -> SqliteSource:
        """Return the source of the file a ``sqlite:///path`` URL names."""
        return cls(sqlite_path(url))

    def dump(
        self,
        sink: Writer,
        key_tables: Sequence[str],
        sample_rows: int,
        data_part: DataPartSink | None = None,  # one stream here: never used
    ) -> DumpInfo:
        """Snapshot the database, record its facts, stream the snapshot into ``sink``."""
        if not self.path.is_file():
            raise SourceError(
                f"SQLite database {self.path} does not exist: check targets[].database"
            )
        with tempfile.TemporaryDirectory(prefix="backproof-") as folder:
            snapshot = Path(folder) / "snapshot.sqlite"
            self._snapshot(snapshot)
            facts = _read_facts(snapshot, key_tables, sample_rows, None)
            if not facts.tables:
                raise SourceError(f"SQLite database {self.path} has no tables: nothing to back up")
            absent = missing_key_tables(list(facts.tables), key_tables)
            if absent:
                raise SourceError(
                    f"key table {', '.join(absent)} not in {self.path}: fix targets[].key_tables"
                )
            with snapshot.open("rb") as stream:
                while chunk := stream.read(CHUNK_BYTES):
                    sink.write(chunk)
        info = SourceInfo(
            engine=self.engine,
            server_version=sqlite3.sqlite_version,
            client_version=sqlite3.sqlite_version,
            database=str(self.path),
        )
        return DumpInfo(DUMP_FORMAT, info, facts)

    def _snapshot(self, snapshot: Path) -> None:
        os.close(open_private_file(snapshot))
        try:
            with (
                connect(self.path, read_only=True) as source,
                connect(snapshot, read_only=False) as copy,
            ):
                source.backup(copy)
        except sqlite3.Error as exc:
            raise SourceError(f"cannot read SQLite database {self.path}: {exc}") from exc

    def restore(
        self, dump: BinaryIO, dump_format: str, options: RestoreOptions | None = None
    ) -> None:
        """Write the snapshot to this file (through a private partial file)."""
        if dump_format != DUMP_FORMAT:
            raise RestoreError(f"a {dump_format} dump cannot be restored into SQLite")
        path = self.path
        if not path.parent.exists():
            # Only a folder we create is made private: an existing one is the application's.
            make_private_dir(path.parent)
        partial = path.with_name(path.name + ".partial")
        descriptor = open_private_file(partial)
        try:
            with os.fdopen(descriptor, "wb") as output:
                shutil.copyfileobj(dump, output, CHUNK_BYTES)
            _check_integrity(partial)
            # A journal or WAL of the database being replaced would be replayed onto the
            # restored file and silently mix old pages into it.
            for suffix in JOURNAL_SUFFIXES:
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)

    def inspect(self, expected: Facts) -> Facts:
        """Read the facts of this file, sampling the rows ``expected`` sampled."""
        return _read_facts(self.path, list(expected.samples), 0, expected)

    def check_integrity(self, heapallindexed_max_bytes: int, jobs: int = 1) -> IntegrityReport:
        """Run ``integrity_check`` and ``foreign_key_check`` on this file (one connection)."""
        try:
            with connect(self.path, read_only=True, immutable=True) as connection:
                return sqlite_checks.check_database(connection)
        except sqlite3.Error as exc:
            raise SourceError(f"cannot check SQLite database {self.path}: {exc}") from exc

    def query_value(self, sql: str, timeout_seconds: float) -> object:
        """Return the first value of ``sql`` on this file, opened read-only."""
        try:
            with connect(self.path, read_only=True, immutable=True) as connection:
                return sqlite_checks.query_value(connection, sql, timeout_seconds)
        except (sqlite3.Error, TimeoutError) as exc:
            raise SourceError(f"the query failed: {exc}") from exc

    def is_empty(self) -> bool:
        """Return True when the file is missing or holds no tables."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return True
        with connect(self.path, read_only=True) as connection:
            return not table_names(connection)

    def identity(self) -> tuple[str, ...]:
        """Return the engine and the file, its links resolved."""
        return (self.engine, str(self.path.resolve()))

    def describe_reachability(self) -> str:
        """Return the file and how many tables it holds."""
        with self._reading() as connection:
            tables = len(table_names(connection))
        return f"SQLite {self.path} readable ({tables} tables)"

    def list_table_sizes(self) -> list[TableSize]:
        """Return the tables by rows, largest first."""
        with self._reading() as connection:
            return table_sizes(connection)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        if not self.path.is_file():
            raise SourceError(f"SQLite database {self.path} does not exist")
        try:
            with connect(self.path, read_only=True) as connection:
                yield connection
        except sqlite3.Error as exc:
            raise SourceError(f"cannot read SQLite database {self.path}: {exc}") from exc

    def scratch_server(self, private_dir: Path) -> SqliteScratchFolder:
        """Return a private folder of backproof's state: temporary copies never land beside
        the application's database."""
        return SqliteScratchFolder(private_dir / "verify")


class SqliteScratchFolder:
    """The folder where temporary SQLite copies go (``verify.url = "sqlite:///folder"``)."""

    engine = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def from_url(cls, url: str) -> SqliteScratchFolder:
        """Return the scratch folder a ``sqlite:///folder`` URL names."""
        return cls(sqlite_path(url))

    @property
    def local_folder(self) -> Path:
        """Return the scratch folder."""
        return self.folder

    def create_scratch(self, name: str) -> SqliteSource:
        """Return the new file ``<folder>/<name>.sqlite``, marked as ours.

        The folder is created private when missing; an existing folder is left as it is (it
        may be the user's). The marker file ``<name>.sqlite.owner`` names this host and pid.
        """
        if not self.folder.exists():
            make_private_dir(self.folder)
        path = self.folder / (name + SCRATCH_SUFFIX)
        write_scratch_marker(path)
        return SqliteSource(path)

    def drop_scratch(self, name: str) -> None:
        """Delete the scratch file ``name``, its journal files and its marker."""
        path = self.folder / (name + SCRATCH_SUFFIX)
        for suffix in SCRATCH_FILE_SUFFIXES:
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def drop_leftover_scratches(self) -> list[str]:
        """Delete the scratch files of verifies that are gone; return their names.

        Only a file named like a scratch *and* carrying our marker naming a process that is no
        longer alive is deleted (see ``backproof.sources.scratch``): a user's file that only
        matches the pattern, and the scratch of a verify still running, are never touched.
        """
        if not self.folder.is_dir():
            return []
        markers = sorted(self.folder.glob(f"{SCRATCH_PREFIX}*{SCRATCH_SUFFIX}{MARKER_SUFFIX}"))
        return [drop_leftover_scratch(marker) for marker in markers if is_leftover_scratch(marker)]

    def verify_user_problems(self) -> None:
        """Return None: scratch copies are files of this host, no server user is involved."""
        return

    def verify_user_script(self, user: str, password: str, client_host: str) -> VerifyUserScript:
        """Raise UsageError: verify into SQLite files needs no user."""
        raise UsageError("verify restores into SQLite files: there is no user to set up")

    def verify_warnings(self) -> list[str]:
        """Return nothing: scratch copies are files of this host, nothing replicates them."""
        return []


def _check_integrity(path: Path) -> None:
    try:
        with connect(path, read_only=True, immutable=True) as connection:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    except (sqlite3.Error, SourceError) as exc:
        raise RestoreError(f"restored file is not a valid SQLite database: {exc}") from exc
    if verdict != "ok":
        raise RestoreError(f"restored SQLite database fails its integrity check: {verdict}")


def _read_facts(
    path: Path, key_tables: Sequence[str], sample_rows: int, expected: Facts | None
) -> Facts:
    try:
        with connect(path, read_only=True, immutable=True) as connection:
            return read_facts(connection, key_tables, sample_rows, expected)
    except sqlite3.Error as exc:
        raise SourceError(f"cannot read SQLite database {path}: {exc}") from exc
