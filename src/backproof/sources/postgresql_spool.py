"""A seekable copy of a streamed custom archive, so that ``pg_restore --jobs`` can use it.

``pg_restore -j N`` needs a regular file, and it finds each table's data fast only when the
table of contents says where the data is. An archive that pg_dump wrote to a pipe (as every
backup is written: dump → compress → encrypt → store) has no such offsets. So a parallel
restore first writes the checked, decrypted, decompressed stream to a private local file (the
spool), then finds where each data block starts and writes those offsets into the table of
contents, exactly as pg_dump writes them into a file it can seek. The blocks are found as the
stream is written (``postgresql_blocks``: the one walk of the format, which also reads a file
in windows); an archive it cannot walk gets no offsets, and pg_restore searches, more slowly.
The spool costs disk space: the dump's uncompressed size, checked before anything starts
(``require_spool_space``). Three threads share the work as the stream is spooled: one decodes
the stored part (``read_ahead``: in C, without the GIL), one writes each chunk into the file (a
copy into the page cache, without the GIL), and one walks the chunks already written for the
blocks' starts (``bytes.find``, which holds the GIL): on two free cores the spool takes about
half their sum, not the sum of the last two, which one thread did one after the other.

A data block is a type byte, the entry's dump id and chunks (a length, then the bytes). Table
data holds one COPY line per chunk, and a COPY line holds no raw newline or NUL; so a block
ends at the first newline followed by a zero length, found with ``find`` over windows of the
file rather than chunk by chunk (the reasoning of ``postgresql_archive``). Large-object blocks
are walked exactly.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from backproof.errors import RestoreError
from backproof.privacy import open_private_file
from backproof.sources.postgresql_archive import (
    OFFSET_SET,
    TableOfContents,
)
from backproof.sources.postgresql_blocks import BlockLocator
from backproof.sources.prefetch import read_ahead
from backproof.storage.base import CHUNK_BYTES

logger = logging.getLogger(__name__)
# Left free beside the spool, for the server's own files when the spool shares its disk.
SPOOL_MARGIN_BYTES = 256 * 1024 * 1024
SPOOL_FILE = "dump.pgdump"
# The file is read in windows of this size: a restore's memory does not grow with the dump.
SCAN_WINDOW_BYTES = 4 * 1024 * 1024
# Chunks written but not yet walked for the blocks' starts: a bounded queue, memory stays flat.
WALK_DEPTH_CHUNKS = 4


class ChunkWalker(Protocol):
    """What walks the spooled bytes for the blocks' starts (``BlockLocator``)."""

    def feed(self, chunk: bytes) -> None:
        """Walk ``chunk``, the next bytes of the archive."""


def require_spool_space(folder: Path, size_bytes: int) -> None:
    """Raise RestoreError when ``folder`` lacks ``size_bytes`` plus a margin of free space."""
    try:
        free_bytes = shutil.disk_usage(folder).free
    except OSError as exc:
        raise RestoreError(f"cannot use the spool folder {folder}: {exc.strerror}") from exc
    needed = size_bytes + SPOOL_MARGIN_BYTES
    if free_bytes < needed:
        raise RestoreError(
            f"a parallel restore needs {needed / 1e6:,.0f} MB free in {folder} for its spool "
            f"(has {free_bytes / 1e6:,.0f} MB): set verify.spool_dir to a larger disk, "
            "or verify.jobs = 1 to stream the dump without a spool"
        )


@dataclass(frozen=True)
class Spool:
    """The spooled archive: its path, and the size in bytes of each data block by dump id
    (empty when the blocks could not be located)."""

    path: Path
    block_bytes: dict[int, int] = field(default_factory=dict)


@contextlib.contextmanager
def spooled_archive(dump: BinaryIO, folder: Path, size_bytes: int) -> Iterator[Spool]:
    """Write ``dump`` to a private file in ``folder`` with its data offsets; yield it.

    The file and its folder (0700) are removed when the block ends. Raises RestoreError when
    the folder lacks space, before and while writing.
    """
    require_spool_space(folder, size_bytes)
    with tempfile.TemporaryDirectory(prefix="backproof-spool-", dir=folder) as name:
        path = Path(name) / SPOOL_FILE
        locator = BlockLocator()
        _write_spool(dump, path, locator)
        located = _write_located(path, locator)
        logger.debug("spooled %s: %d data blocks located", path, located)
        yield Spool(path, _block_bytes(locator, path.stat().st_size))


def _block_bytes(locator: BlockLocator, file_bytes: int) -> dict[int, int]:
    """Return each data block's size by dump id: from its start to the next block's (the
    last one's to the end of the file)."""
    found = locator.located()
    if found is None:
        return {}
    starts = sorted(found[1].items(), key=lambda item: item[1])
    ends = [start for _dump_id, start in starts[1:]] + [file_bytes]
    return {dump_id: end - start for (dump_id, start), end in zip(starts, ends, strict=True)}


def _write_spool(dump: BinaryIO, path: Path, locator: BlockLocator) -> None:
    descriptor = open_private_file(path)
    try:
        with os.fdopen(descriptor, "wb") as file:
            write_walking(read_ahead(dump, CHUNK_BYTES), file, locator)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise RestoreError(f"the spool folder {path.parent.parent} ran out of space") from exc
        raise RestoreError(f"cannot write the spool {path}: {exc.strerror}") from exc


def write_walking(chunks: Iterable[bytes], file: BinaryIO, walker: ChunkWalker) -> None:
    """Write ``chunks`` into ``file`` while a thread of its own feeds each written chunk to
    ``walker``: the walk of one chunk runs while the next is written. Returns once both are
    done; raises what the writes raise (the walk then ends), or else what the walk raised."""
    written: queue.Queue[bytes | None] = queue.Queue(maxsize=WALK_DEPTH_CHUNKS)
    failures: list[Exception] = []

    def walk() -> None:
        while (chunk := written.get()) is not None:
            if failures:
                continue  # drained, so that the writes never wait for a walk that stopped
            try:
                walker.feed(chunk)
            except Exception as error:  # kept, and raised by the writing thread
                failures.append(error)

    thread = threading.Thread(target=walk, name="spool walk", daemon=True)
    thread.start()
    try:
        for chunk in chunks:
            file.write(chunk)
            written.put(chunk)
    finally:
        written.put(None)
        thread.join()
    if failures:
        raise failures[0]


def write_data_offsets(path: Path) -> int:
    """Write where each data block starts into the archive's table of contents; return how
    many entries got their offset. An archive it cannot read is left as it is (pg_restore
    then finds the blocks itself, more slowly). Reads the file in windows: memory stays flat."""
    locator = BlockLocator()
    with path.open("rb") as file:
        while window := file.read(SCAN_WINDOW_BYTES):
            locator.feed(window)
    return _write_located(path, locator)


def _write_located(path: Path, locator: BlockLocator) -> int:
    """Write the offsets ``locator`` found into the file; return how many (0 when it found
    none: pg_restore then searches)."""
    found = locator.located()
    if found is None:
        logger.warning("data offsets not written, pg_restore will search: unreadable archive")
        return 0
    return _write_offsets(path, *found)


def _write_offsets(path: Path, contents: TableOfContents, starts: dict[int, int]) -> int:
    """Write ``starts`` (by dump id) into the offset fields of ``contents``; return how many."""
    descriptor = os.open(path, os.O_WRONLY)
    try:
        written = 0
        for dump_id, field in contents.offset_fields.items():
            if dump_id in starts:
                offset = starts[dump_id].to_bytes(contents.offset_size, "little")
                os.pwrite(descriptor, bytes([OFFSET_SET]) + offset, field)
                written += 1
        return written
    finally:
        os.close(descriptor)
