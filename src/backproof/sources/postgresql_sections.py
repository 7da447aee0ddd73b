"""PostgreSQL: pg_restore of a backup's archive, and of a dump in two streams in section order.

A large database may be dumped in two archives on one snapshot (issue 12): the part ``db``
(the whole schema, and the data of every table but the largest) and the part ``db-data`` (the
data alone of those largest tables). The second's rows go into tables the first creates, and
the first's post-data (indexes, constraints, triggers) must not run before they are in: a
foreign key to one of those tables validates against its rows. So a restore in two streams
runs, into one database as one login:

a. the ``db`` archive's pre-data, then its data (``pg_restore --section=pre-data``, ``…=data``),
b. the ``db-data`` archive (``pg_restore --data-only``, streamed from its opener),
c. the ``db`` archive's post-data (``pg_restore --section=post-data``).

Step a runs as two: the pre-data first, then the data beside step b (two loads at once, as
the two streams were dumped). Streamed (one job, or a size unknown), the ``db`` stream is read
once: its header and table of contents are read first, and the pre-data and post-data steps
read those bytes alone (they have no data blocks); the data step reads them and then the rest
of the stream. From the spool (``pg_restore --jobs``) each step reads the file; once step b's
rows are in, its tables go to the verify's read-back (when there is one), which then overlaps
what is left of the restore (measured on a 390 MB database and two cores: a verify took 6.9 s
median against 7.5 s with those tables read after the restore, faster in 6 of 7 pairs). The
first pg_restore that fails stops the other (``process.Stopper``) and its error is raised once
both have ended.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from backproof.errors import RestoreError
from backproof.process import Command, Stopper, run_command, write_pipeline
from backproof.sources.base import DataPartOpener
from backproof.sources.postgresql_archive import (
    ArchiveFormatError,
    read_complete_table_of_contents,
    read_toc_entries,
)
from backproof.sources.postgresql_digests import (
    RestoredTableDigests,
    restore_progress,
    table_pattern,
)
from backproof.sources.postgresql_labels import table_label
from backproof.sources.postgresql_spool import Spool
from backproof.sources.postgresql_tools import restore_command
from backproof.sources.prefetch import read_ahead
from backproof.sources.server_urls import ServerUrl
from backproof.storage.base import CHUNK_BYTES

PRE_DATA = ("--section=pre-data",)
DATA = ("--section=data",)
POST_DATA = ("--section=post-data",)
DATA_ONLY = ("--data-only",)


@dataclass(frozen=True)
class Restorer:
    """pg_restore into ``database`` as the login ``server`` (its user) and ``password``."""

    server: ServerUrl
    password: str | None
    database: str

    def command(
        self,
        selection: Sequence[str] = (),
        *,
        jobs: int = 1,
        path: Path | None = None,
        progress: Callable[[bytes], bool] | None = None,
    ) -> Command:
        """Return pg_restore of what ``selection`` picks (all when empty): from stdin, or
        from the file ``path`` by ``jobs`` workers (``restore_command``)."""
        return restore_command(
            self.server,
            self.password,
            self.database,
            jobs=jobs,
            path=path,
            progress=progress,
            selection=selection,
        )


class ArchiveHead:
    """Keeps the head of a custom archive as it passes: its header and table of contents."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._pieces: list[bytes] = []
        self._size = 0
        self._next_try = 0
        self.head: bytes | None = None

    def feed(self, chunk: bytes) -> None:
        """Read the next bytes of the archive (nothing more once the table is whole).

        Raises RestoreError when the archive is not one backproof can read.
        """
        if self.head is not None:
            return
        self._pieces.append(chunk)
        self._size += len(chunk)
        if self._size < self._next_try:
            return  # tried again once twice as much is read: the work stays linear
        data = b"".join(self._pieces)
        self._pieces = [data]
        try:
            contents = read_complete_table_of_contents(data)
        except ArchiveFormatError as exc:
            raise RestoreError(f"cannot read {self._what}: {exc}") from exc
        if contents is None:
            self._next_try = 2 * self._size
            return
        self.head, self._pieces = data[: contents.end], []

    def complete(self) -> bytes:
        """Return the header and table of contents; RestoreError when the archive ended
        inside them."""
        if self.head is None:
            raise RestoreError(f"{self._what} ends inside its table of contents")
        return self.head


def read_archive_head(dump: BinaryIO, what: str) -> tuple[list[bytes], bytes]:
    """Read ``dump`` (``what``, for errors) until its header and table of contents are whole;
    return the chunks read, to pass on before the rest, and those head bytes.

    Raises RestoreError when it is not an archive backproof reads, or ends inside its table.
    """
    chunks: list[bytes] = []
    head = ArchiveHead(what)
    while head.head is None and (chunk := dump.read(CHUNK_BYTES)):
        chunks.append(chunk)
        head.feed(chunk)
    return chunks, head.complete()


def restore_stream(dump: BinaryIO, restorer: Restorer, data_part: DataPartOpener | None) -> None:
    """Stream the archive ``dump`` into pg_restore; with ``data_part``, in sections (see the
    module). Raises RestoreError when the archive ends inside its table of contents,
    PipelineError when a pg_restore fails (the first error stops it)."""
    if data_part is None:
        write_pipeline([restorer.command()], lambda feed: _copy(dump, feed))
        return
    first, contents = read_archive_head(dump, "the database part")
    write_pipeline([restorer.command(PRE_DATA)], lambda feed: _write(feed, contents))

    def produce(feed: BinaryIO) -> None:
        for chunk in first:
            feed.write(chunk)
        _copy(dump, feed)

    def restore_data(stopper: Stopper) -> None:
        write_pipeline([restorer.command(DATA)], produce, stopper=stopper)

    restore_beside(restore_data, data_part, restorer, None)
    write_pipeline([restorer.command(POST_DATA)], lambda feed: _write(feed, contents))


def restore_spool(
    spool: Spool,
    restorer: Restorer,
    jobs: int,
    reading: RestoredTableDigests | None,
    data_part: DataPartOpener | None,
) -> None:
    """Restore the spooled archive by ``jobs`` workers, each large table going to ``reading``
    once its data is in; with ``data_part``, in sections, the data part's restore beside the
    data section's (see the module). Raises PipelineError when a pg_restore fails."""
    progress = None if reading is None else restore_progress(spool.path, spool.block_bytes, reading)
    path = spool.path
    if data_part is None:
        run_command(restorer.command(jobs=jobs, path=path, progress=progress))
        return
    run_command(restorer.command(PRE_DATA, path=path))

    def restore_data(stopper: Stopper) -> None:
        command = restorer.command(DATA, jobs=jobs, path=path, progress=progress)
        run_command(command, stopper=stopper)

    restore_beside(restore_data, data_part, restorer, reading)
    run_command(restorer.command(POST_DATA, jobs=jobs, path=path))


def restore_beside(
    restore_data: Callable[[Stopper], None],
    data_part: DataPartOpener,
    restorer: Restorer,
    reading: RestoredTableDigests | None,
) -> None:
    """Run ``restore_data`` (the ``db`` archive's data section) and the data part's restore
    side by side, the first to fail stopping the other; once the data part's rows are in, its
    tables go to ``reading`` (when given). Raises the first failure."""
    stopper = Stopper()

    def restore_side() -> None:
        head = ArchiveHead("the data part")
        restore_data_part(data_part, restorer, stopper, head)
        if reading is not None:
            for label, pattern in data_tables(head.complete()):
                reading.table_restored(label, pattern)

    steps = [
        ("the database part's data", lambda: restore_data(stopper)),
        ("the data part", restore_side),
    ]
    run_together(steps, stopper)


def restore_data_part(
    data_part: DataPartOpener,
    restorer: Restorer,
    stopper: Stopper | None = None,
    head: ArchiveHead | None = None,
) -> None:
    """Stream the data part into ``pg_restore --data-only``, its head kept in ``head``.

    Raises what opening the part raises (IntegrityError…), PipelineError when pg_restore
    fails or ``stopper`` stopped it."""
    with data_part() as side:
        command = restorer.command(DATA_ONLY)
        write_pipeline([command], lambda feed: _copy(side, feed, head), stopper=stopper)


def data_tables(head: bytes) -> list[tuple[str, str]]:
    """Return the label and pg_dump pattern of each table whose data the archive that starts
    with ``head`` (a whole table of contents) holds."""
    return [
        (table_label(entry.namespace, entry.tag), table_pattern(entry.namespace, entry.tag))
        for entry in read_toc_entries(head) or []
        if entry.description == "TABLE DATA" and entry.tag is not None
    ]


def run_together(steps: Sequence[tuple[str, Callable[[], None]]], stopper: Stopper) -> None:
    """Run each named step in a thread of its own; the first to fail stops the others'
    pipelines through ``stopper``. Returns once all have ended; raises the first failure."""
    failures: list[BaseException] = []
    lock = threading.Lock()

    def guarded(name: str, step: Callable[[], None]) -> None:
        try:
            step()
        except BaseException as error:  # raised by the caller's thread below
            with lock:
                failures.append(error)
            stopper.stop(f"the restore of {name} failed")

    with ThreadPoolExecutor(len(steps), thread_name_prefix="restore") as pool:
        futures = [pool.submit(guarded, name, step) for name, step in steps]
        try:
            for future in futures:
                future.result()
        except BaseException:  # interrupted while waiting: end the pipelines, then the threads
            stopper.stop("the restore was interrupted")
            raise
    if failures:
        raise failures[0]


def _write(feed: BinaryIO, data: bytes) -> None:
    feed.write(data)


def _copy(dump: BinaryIO, feed: BinaryIO, head: ArchiveHead | None = None) -> None:
    # The dump is decoded ahead while pg_restore reads what was decoded before.
    for chunk in read_ahead(dump, CHUNK_BYTES):
        if head is not None:
            head.feed(chunk)
        feed.write(chunk)
