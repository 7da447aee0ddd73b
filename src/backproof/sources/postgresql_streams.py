"""The PostgreSQL dump in two streams: the largest tables' rows beside the rest (issue 12).

One ``pg_dump`` keeps about 1.8 of two cores busy (itself, the server process reading for it,
and the compression after it); a second ``pg_dump`` on the same exported snapshot fills what
is left, and the dump ends sooner (0.82-0.92x of the single stream on the 1 GB CRM). So when
the backup can store a second part (``DATA_PART``) and the database has a table of at least
``DATA_PART_MIN_BYTES``, the rows of its largest tables, up to half the data, are dumped by a
second ``pg_dump --data-only --table`` into that part, and the first dump leaves them out
(``--exclude-table-data``). Both read the one snapshot the facts are read in: the facts stay
exact, and each stream is digested as it passes, as the single one was.

A restore loads the first part's schema and rows, then the second part's rows, then the first
part's indexes and constraints (``docs/databases.md``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

from backproof.archive.manifest import Facts, TableDigest
from backproof.archive.streams import Writer
from backproof.errors import StreamStoppedError
from backproof.process import Command, read_pipeline
from backproof.sources import postgresql_catalog as catalog
from backproof.sources.base import DataPartSink
from backproof.sources.postgresql_digests import DumpDigests, missing_digests, table_pattern
from backproof.sources.prefetch import read_ahead
from backproof.storage.base import CHUNK_BYTES

# Below this, a table's rows are dumped faster than a second pg_dump starts and connects.
DATA_PART_MIN_BYTES = 32 * 1024 * 1024

# The sizes the statistics last recorded (VACUUM, ANALYZE and autovacuum keep ``relpages``):
# reading the catalog takes no lock, where ``pg_table_size`` would wait behind a table's DDL
# before pg_dump had even started.
_SIZES = """
SELECT c.oid, (c.relpages::bigint + COALESCE(t.relpages, 0)) * current_setting('block_size')::int
FROM pg_class AS c LEFT JOIN pg_class AS t ON t.oid = c.reltoastrelid
WHERE c.oid = ANY(%s)
"""


def choose_data_tables(cursor: catalog.Cursor, tables: Sequence[catalog.Table]) -> list[str]:
    """Return the pg_dump patterns of the tables whose rows go to the second stream
    (``largest_within_half`` of the plain tables, by the sizes the statistics recorded)."""
    plain = {table.oid: table for table in tables if table.kind == "r"}
    if not plain:
        return []
    cursor.execute(_SIZES, (list(plain),))
    sizes = {int(oid): int(size) for oid, size in cursor.fetchall()}
    chosen = largest_within_half(sizes)
    return [table_pattern(plain[oid].schema, plain[oid].name) for oid in chosen]


def largest_within_half(sizes: dict[int, int]) -> list[int]:
    """Return the keys of ``sizes`` for the second stream: the largest when it is at least
    DATA_PART_MIN_BYTES, then each next largest that is too, as long as the chosen stay within
    half of the total (the two streams then carry about as much). Empty when none is that
    large (a table never vacuumed nor analyzed counts as empty)."""
    total = sum(sizes.values())
    chosen: list[int] = []
    taken = 0
    for key, size in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        if size < DATA_PART_MIN_BYTES:
            break
        if chosen and 2 * (taken + size) > total:
            continue
        chosen.append(key)
        taken += size
    return chosen


class DataStream:
    """The second stream: ``command``'s output stored through ``sink`` and digested, in a
    thread of the caller's; stopped at its next chunk when the first stream fails."""

    def __init__(self, command: Command, sink: DataPartSink) -> None:
        self._command = command
        self._sink = sink
        self.digests = DumpDigests()
        self._stopped = threading.Event()
        self.failed = threading.Event()

    def run(self) -> None:
        """Dump and store the stream; raise what failed (StreamStoppedError once ``stop`` was
        called)."""
        try:
            self._sink.write(self._produce)
        except BaseException:
            self.failed.set()
            raise

    def stop(self) -> None:
        """Make the stream end at its next chunk (its tool is killed, its part aborted)."""
        self._stopped.set()

    @property
    def is_stopped(self) -> bool:
        """True once ``stop`` was called (a sink waiting to be attached gives up)."""
        return self._stopped.is_set()

    def _produce(self, writer: Writer) -> None:
        read_pipeline([self._command], lambda stream: self._copy(stream, writer))

    def _copy(self, stream: BinaryIO, writer: Writer) -> None:
        for chunk in read_ahead(stream, CHUNK_BYTES):
            if self._stopped.is_set():
                raise StreamStoppedError("the dump's second stream stopped: the first failed")
            writer.write(chunk)
            self.digests.feed(chunk)


class JointDigests:
    """The digests of the streams of one dump, read as one (``DumpDigests``' interface)."""

    def __init__(self, *streams: DumpDigests) -> None:
        self._streams = streams

    def row_counts(self) -> dict[str, int]:
        """Return the rows of each table the streams held."""
        return {table: rows for part in self._streams for table, rows in part.row_counts().items()}

    def result(self, counts: dict[str, int]) -> tuple[dict[str, TableDigest], list[str]]:
        """Return the digests of the tables whose rows agree with ``counts`` (from whichever
        stream held them), and a warning for each table without one."""
        digests: dict[str, TableDigest] = {}
        problems: list[str] = []
        for part in self._streams:
            kept, lost = part.kept(counts)
            digests.update(kept)
            problems.extend(lost)
        return digests, problems or missing_digests(counts, digests)


def consume_streams(
    stream: BinaryIO,
    sink: Writer,
    digests: DumpDigests,
    read_facts: Callable[[], Facts],
    second: DataStream | None,
) -> Facts:
    """Copy the first stream into ``sink``, digesting it, while the facts are read and the
    second stream (if any) runs, each in a thread; return the facts.

    When either stream fails, the other is stopped and the failure raised (the second's
    error rather than the first's being stopped)."""
    with ThreadPoolExecutor(2, thread_name_prefix="facts") as pool:
        facts = pool.submit(read_facts)
        other = pool.submit(second.run) if second is not None else None
        try:
            for chunk in read_ahead(stream, CHUNK_BYTES):
                if second is not None and second.failed.is_set():
                    break
                sink.write(chunk)
                digests.feed(chunk)
        except BaseException:
            if second is not None:
                second.stop()
            raise
        if other is not None:
            other.result()
        return facts.result()
