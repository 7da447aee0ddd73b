"""A seekable copy of a streamed custom archive, so that ``pg_restore --jobs`` can use it.

``pg_restore -j N`` needs a regular file, and it finds each table's data fast only when the
table of contents says where the data is. An archive that pg_dump wrote to a pipe (as every
backup is written: dump → compress → encrypt → store) has no such offsets. So a parallel
restore first writes the checked, decrypted, decompressed stream to a private local file (the
spool), then finds where each data block starts and writes those offsets into the table of
contents, exactly as pg_dump writes them into a file it can seek. The blocks are found as the
stream is written (``postgresql_blocks``); only a stream that could not be walked there is read
again from the file. The spool costs disk space: the dump's uncompressed size, checked before
anything starts (``require_spool_space``).

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
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from backproof.errors import RestoreError
from backproof.privacy import open_private_file
from backproof.sources.postgresql_archive import (
    BLOCK_DATA,
    BLOCK_LARGE_OBJECTS,
    OFFSET_SET,
    ArchiveFormatError,
    TableOfContents,
    read_table_of_contents,
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
TOC_WINDOW_BYTES = 1024 * 1024


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


@contextlib.contextmanager
def spooled_archive(dump: BinaryIO, folder: Path, size_bytes: int) -> Iterator[Path]:
    """Write ``dump`` to a private file in ``folder`` with its data offsets; yield its path.

    The file and its folder (0700) are removed when the block ends. Raises RestoreError when
    the folder lacks space, before and while writing.
    """
    require_spool_space(folder, size_bytes)
    with tempfile.TemporaryDirectory(prefix="backproof-spool-", dir=folder) as name:
        path = Path(name) / SPOOL_FILE
        locator = BlockLocator()
        _write_spool(dump, path, locator)
        found = locator.located()
        located = write_data_offsets(path) if found is None else _write_offsets(path, *found)
        logger.debug("spooled %s: %d data blocks located", path, located)
        yield path


def _write_spool(dump: BinaryIO, path: Path, locator: BlockLocator) -> None:
    descriptor = open_private_file(path)
    try:
        with os.fdopen(descriptor, "wb") as file:
            for chunk in read_ahead(dump, CHUNK_BYTES):
                file.write(chunk)
                locator.feed(chunk)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise RestoreError(f"the spool folder {path.parent.parent} ran out of space") from exc
        raise RestoreError(f"cannot write the spool {path}: {exc.strerror}") from exc


def write_data_offsets(path: Path) -> int:
    """Write where each data block starts into the archive's table of contents; return how
    many entries got their offset. An archive it cannot read is left as it is (pg_restore
    then finds the blocks itself, more slowly). Reads the file in windows: memory stays flat."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        contents = _read_contents(descriptor)
        starts = _block_starts(descriptor, contents.end, contents.int_size)
    except ArchiveFormatError as exc:
        logger.warning("data offsets not written, pg_restore will search: %s", exc)
        return 0
    finally:
        os.close(descriptor)
    return _write_offsets(path, contents, starts)


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


def _read_contents(descriptor: int) -> TableOfContents:
    """Return the table of contents, reading as much of the file's head as it takes."""
    size = os.fstat(descriptor).st_size
    head_bytes = TOC_WINDOW_BYTES
    while True:
        head = os.pread(descriptor, min(head_bytes, size), 0)
        try:
            return read_table_of_contents(head)
        except ArchiveFormatError:
            if len(head) >= size:
                raise
            head_bytes *= 4


def _block_starts(descriptor: int, position: int, int_size: int) -> dict[int, int]:
    """Return where each data block starts, by dump id (ArchiveFormatError when unreadable)."""
    starts: dict[int, int] = {}
    end_of_rows = b"\n" + b"\x00" * (1 + int_size)
    size = os.fstat(descriptor).st_size
    while position < size:
        kind = os.pread(descriptor, 1, position)[0]
        dump_id, after = _integer(descriptor, position + 1, int_size)
        starts[dump_id] = position
        if kind == BLOCK_DATA:
            position = _end_of_data(descriptor, after, int_size, end_of_rows)
        elif kind == BLOCK_LARGE_OBJECTS:
            position = _end_of_large_objects(descriptor, after, int_size)
        else:
            raise ArchiveFormatError(f"unknown block type {kind} at byte {position}")
    return starts


def _end_of_data(descriptor: int, position: int, int_size: int, end_of_rows: bytes) -> int:
    length, after = _integer(descriptor, position, int_size)
    if length == 0:
        return after  # a table without rows
    found = _find(descriptor, end_of_rows, position)
    if found < 0:
        raise ArchiveFormatError(f"a data block at byte {position} does not end")
    return found + len(end_of_rows)


def _find(descriptor: int, pattern: bytes, position: int) -> int:
    """Return where ``pattern`` first occurs at or after ``position``, -1 when nowhere."""
    while window := os.pread(descriptor, SCAN_WINDOW_BYTES, position):
        found = window.find(pattern)
        if found >= 0:
            return position + found
        if len(window) < len(pattern):
            return -1
        position += len(window) - len(pattern) + 1
    return -1


def _end_of_large_objects(descriptor: int, position: int, int_size: int) -> int:
    while True:
        object_id, position = _integer(descriptor, position, int_size)
        if object_id == 0:
            return position
        while True:
            length, position = _integer(descriptor, position, int_size)
            if length == 0:
                break
            position += length


def _integer(descriptor: int, position: int, int_size: int) -> tuple[int, int]:
    """Return the archive integer at ``position`` (a sign byte, then little-endian bytes)."""
    raw = os.pread(descriptor, 1 + int_size, position)
    if len(raw) < 1 + int_size:
        raise ArchiveFormatError("the archive ends inside a data block")
    value = int.from_bytes(raw[1:], "little")
    return (-value if raw[0] else value), position + 1 + int_size
