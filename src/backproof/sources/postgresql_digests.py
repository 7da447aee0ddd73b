"""PostgreSQL table digests: of the dump stream at backup time, of a restored copy at verify.

Both sides read a pg_dump custom archive with ``postgresql_archive.ArchiveDigester``: at backup
time the backup's own stream as it passes (the source is not read twice), at verify time an
uncompressed data-only dump of the restored scratch database. Both pg_dump runs use the same
session settings (pg_dump's own: ISO dates, ``postgres`` intervals, shortest exact floats) and
``PGTZ=UTC``, so every value prints the same text on both sides.

During a parallel restore (``pg_restore --jobs``) the read-back starts before the restore ends
(:class:`RestoredTableDigests`): a large table is dumped and digested as soon as pg_restore
reports its data done, while the other tables are still loading and the indexes are built; the
rest in one dump once the restore is over. Reading a table then reads what the finished restore
holds: its data item committed, and nothing pg_restore runs later writes rows (the indexes,
constraints, triggers and rules come after the data and fire on nothing already loaded; a
foreign key is validated by reading). pg_dump holds its ACCESS SHARE lock on the table while it
reads, so a later ``ALTER TABLE`` of that table in the restore waits for it.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from backproof.archive.manifest import TableDigest
from backproof.errors import PipelineError
from backproof.process import Command, read_pipeline, with_output_buffer
from backproof.sources.postgresql_archive import (
    LINE_METHOD_64,
    LINE_METHOD_128,
    METHOD_BITS,
    ArchiveDigester,
    ArchiveFormatError,
    TocEntry,
    read_toc_entries,
)
from backproof.sources.postgresql_labels import table_label
from backproof.sources.postgresql_tools import dump_command
from backproof.sources.prefetch import read_ahead
from backproof.sources.server_urls import ServerUrl
from backproof.sources.table_digests import require_known_method
from backproof.storage.base import CHUNK_BYTES

logger = logging.getLogger(__name__)
# What a backup records; a verify computes what its manifest names (``METHOD_BITS``).
DIGEST_METHOD = LINE_METHOD_64
# A table whose data block is at least this large is read back as soon as it is restored; the
# smaller ones after the restore, all in one dump (a pg_dump of its own would cost more in
# start-up, about 0.1 s of CPU, than reading them early saves).
EARLY_READ_MIN_BYTES = 16 * 1024 * 1024
# pg_restore --verbose: an informational line (not an error, warning, detail or hint), and the
# one saying a table's data is restored (in a parallel restore, once its COPY committed). Its
# workers share one stderr and write a message's "pg_restore: " and its text in two calls, so
# under load a line may start with two prefixes and the next with none: the prefixes are taken
# all at once (possessive), never one of them as the text.
_PREFIXES = rb"^(?:pg_restore: )*+"
_RESTORE_INFO = re.compile(_PREFIXES + rb"(?<=: )(?!(?:error|warning|detail|hint): )")
_TABLE_DATA_DONE = re.compile(_PREFIXES + rb"finished item (\d+) TABLE DATA ")
_TOC_READ_BYTES = 1 << 20


class DumpDigests:
    """Digests the backup's archive as it passes; a stream it cannot read only loses them."""

    def __init__(self) -> None:
        self._digester: ArchiveDigester | None = ArchiveDigester(DIGEST_METHOD)
        self.problem = ""

    def feed(self, chunk: bytes) -> None:
        """Read the next bytes of the archive (after the first problem, nothing more)."""
        if self._digester is None:
            return
        try:
            self._digester.feed(chunk)
        except ArchiveFormatError as exc:
            self._give_up(str(exc))

    def row_counts(self) -> dict[str, int]:
        """Return the rows of each table the stream held (none when it could not be read)."""
        if self._digester is None:
            return {}
        try:
            return {table: digest.rows for table, digest in self._digester.finish().items()}
        except ArchiveFormatError:
            return {}

    def kept(self, counts: dict[str, int]) -> tuple[dict[str, TableDigest], list[str]]:
        """Return the digests of the tables whose rows agree with ``counts``, and why none
        was kept when the stream could not be read (empty otherwise)."""
        if self._digester is None:
            return {}, [f"table digests not recorded: {self.problem}"]
        try:
            digests = self._digester.finish()
        except ArchiveFormatError as exc:
            return {}, [f"table digests not recorded: {exc}"]
        kept = {
            table: digest
            for table, digest in digests.items()
            if table in counts and digest.rows == counts[table]
        }
        return kept, []

    def _give_up(self, reason: str) -> None:
        logger.warning("table digests not recorded: %s", reason)
        self.problem = reason
        self._digester = None


def missing_digests(counts: dict[str, int], kept: dict[str, TableDigest]) -> list[str]:
    """Return a warning for each table of ``counts`` without a digest in ``kept``."""
    return [
        f"table {table}: no digest recorded (the dump's rows could not be read apart)"
        for table in sorted(set(counts) - set(kept))
    ]


def data_dump_command(
    server: ServerUrl,
    password: str | None,
    database: str,
    *,
    tables: Sequence[str] = (),
    excluded: Sequence[str] = (),
) -> Command:
    """Return an uncompressed data-only pg_dump of ``database`` (custom format), for digests:
    of the tables matching the patterns ``tables`` only when given, without the data of those
    matching ``excluded`` (patterns of :func:`table_pattern`); its output written 1 MiB at a
    time (``with_output_buffer``)."""
    command = dump_command(
        server,
        password,
        database=database,
        data_only=True,
        tables=tables,
        without_data_of=excluded,
    )
    return with_output_buffer(command)


def verify_method(recorded: str) -> str:
    """Return the digest method that recomputes digests a manifest records with ``recorded``
    (a manifest without a name has the first one's).

    Raises SourceError for a method this version does not know (a newer backproof's).
    """
    method = recorded or LINE_METHOD_128
    require_known_method(method, METHOD_BITS)
    return method


def digest_database(
    server: ServerUrl, password: str | None, database: str, method: str = DIGEST_METHOD
) -> dict[str, TableDigest]:
    """Return the digest of every table of ``database`` (a restored copy), made with
    ``method`` (a key of ``METHOD_BITS``).

    Raises PipelineError when pg_dump fails, ArchiveFormatError when its output is unreadable.
    """

    return _read_digests(data_dump_command(server, password, database), method)


def table_pattern(schema: str | None, name: str) -> str:
    """Return the pg_dump pattern that matches exactly the table ``name`` of ``schema``:
    each part double-quoted, so that no character of it is a wildcard."""
    quoted = '"' + name.replace('"', '""') + '"'
    return quoted if schema is None else '"' + schema.replace('"', '""') + '".' + quoted


class RestoredTableDigests:
    """The digests of a copy being restored in parallel, read while the restore goes on.

    ``table_restored`` (called as pg_restore reports a table's data done) queues the table; a
    thread of its own dumps and digests each queued table in turn, one pg_dump each. ``close``
    waits for them (before the restore hands its tables over to the verify user: that
    ``REASSIGN OWNED`` locks every table it passes, and a dump that waited for one of them
    while holding another could deadlock with it). ``finish``, once the restore is over,
    digests every other table in one data-only dump without those read early, and returns all
    the digests: the same set, and the same values, as :func:`digest_database` after the
    restore. A table whose early read
    failed is simply read again by that last dump (which raises, as digest_database does).
    """

    def __init__(self, server: ServerUrl, password: str | None, database: str, method: str) -> None:
        self._server, self._password, self._database = server, password, database
        self.method = method
        self._queue: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._early: dict[str, TableDigest] = {}
        self._early_patterns: list[str] = []
        self._thread = threading.Thread(target=self._run, name="read-back", daemon=True)
        self._thread.start()

    def table_restored(self, label: str, pattern: str) -> None:
        """Queue the table ``label`` (matched by ``pattern``), whose data is now restored."""
        self._queue.put((label, pattern))

    def close(self) -> None:
        """Take no more tables; wait for those queued to be read."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def finish(self) -> dict[str, TableDigest]:
        """Return the digest of every table of the restored copy (call after the restore).

        Raises PipelineError when pg_dump fails, ArchiveFormatError when its output is
        unreadable.
        """
        self.close()
        command = data_dump_command(
            self._server, self._password, self._database, excluded=self._early_patterns
        )
        rest = _read_digests(command, self.method)
        logger.debug(
            "tables read back while restoring: %s; after: %s", self.early_tables, sorted(rest)
        )
        return {**rest, **self._early}

    @property
    def early_tables(self) -> list[str]:
        """The tables read while the restore went on (complete after ``close``)."""
        return sorted(self._early)

    def _run(self) -> None:
        while (table := self._queue.get()) is not None:
            self._read(*table)

    def _read(self, label: str, pattern: str) -> None:
        # One table a dump: pg_dump then holds the lock of that table alone, so a statement of
        # the restore that waits for it (an ALTER TABLE) never holds what pg_dump waits for.
        command = data_dump_command(self._server, self._password, self._database, tables=[pattern])
        try:
            found = _read_digests(command, self.method)
        except (PipelineError, ArchiveFormatError) as exc:
            # Read again by the dump after the restore, whose failure then fails the verify.
            logger.info("table %s read back after the restore instead: %s", label, exc)
            return
        if label in found:
            self._early[label] = found[label]
            self._early_patterns.append(pattern)


def restore_progress(
    spool: Path, block_bytes: dict[int, int], digests: RestoredTableDigests
) -> Callable[[bytes], bool]:
    """Return what reads ``pg_restore --jobs --verbose``'s stderr for the archive ``spool``:
    each table whose data block (``block_bytes``, by dump id) is at least
    EARLY_READ_MIN_BYTES goes to ``digests`` once pg_restore says its data is done. Its
    informational lines are kept out of the stderr tail, so a failure shows the error."""
    early = {
        entry.dump_id: (
            table_label(entry.namespace, entry.tag),
            table_pattern(entry.namespace, entry.tag),
        )
        for entry in _toc_entries(spool)
        if entry.description == "TABLE DATA"
        and entry.tag is not None
        and block_bytes.get(entry.dump_id, 0) >= EARLY_READ_MIN_BYTES
    }

    def progress(line: bytes) -> bool:
        item = finished_table_data(line)
        if item in early:
            digests.table_restored(*early[item])
        return item is not None or is_restore_info(line)

    return progress


def is_restore_info(line: bytes) -> bool:
    """Return True for an informational ``pg_restore --verbose`` line (kept out of the stderr
    tail a failure shows): not an error, warning, detail or hint."""
    return _RESTORE_INFO.match(line) is not None


def finished_table_data(line: bytes) -> int | None:
    """Return the dump id of the table data a ``pg_restore --verbose`` line says is restored;
    None for any other line."""
    done = _TABLE_DATA_DONE.match(line)
    return None if done is None else int(done.group(1))


def _toc_entries(spool: Path) -> list[TocEntry]:
    """Return the entries of the spooled archive's table of contents (none when unreadable);
    reads the file's head, twice as much each time, until the table is whole."""
    head = b""
    with spool.open("rb") as file:
        while piece := file.read(max(_TOC_READ_BYTES, len(head))):
            head += piece
            try:
                entries = read_toc_entries(head)
            except ArchiveFormatError:
                return []
            if entries is not None:
                return entries
    return []


def _read_digests(command: Command, method: str) -> dict[str, TableDigest]:
    """Return the digests of the tables in the data-only archive ``command`` writes."""

    def consume(stream: BinaryIO) -> dict[str, TableDigest]:
        # Read ahead: pg_dump goes on writing while the rows are hashed (the sum of both
        # otherwise; a pipe holds 64 KiB).
        digester = ArchiveDigester(method)
        for chunk in read_ahead(stream, CHUNK_BYTES):
            digester.feed(chunk)
        return digester.finish()

    return read_pipeline([command], consume)
