"""The rows of a table's data block in a pg_dump custom archive, found and hashed in bulk.

Inside a table's block (``postgresql_archive`` explains the format) every row is a line of
COPY text that ends with a newline followed by the next chunk's header, ``\\n\\x00`` and
``int_size`` length bytes, and nothing else in the block looks like that; the block ends at the
first newline followed by a zero length. Two readers, each given the bytes read so far of one
block (from ``start`` in a buffer, which is not copied; at a block's start read as if a newline
stood before them, so that the first header looks like the others, and what precedes that
header is no row), return what they found without keeping anything:

- ``rows_within`` splits the whole buffer at every header and returns ``None`` when one of them
  is a zero length (the block ends in the buffer): a buffer inside one table, the common case,
  is read once and never searched again for its end;
- ``rows_to_end`` finds where the block ends first, then splits what precedes it (the last line
  dropped when it is COPY's end marker ``\\.``), so the work stays linear in the bytes however
  many small tables a buffer holds.

Both return how many bytes they consumed (up to the last complete row, or past the block's end:
the rest, a partial row, waits for the next bytes), how many rows they hashed and the sum of
their xxh3 hashes modulo 2**bits (``table_digests``).

Two implementations of that contract give the same results bit for bit: the C extension
``backproof._native.copy_rows`` (built when backproof is installed where a C compiler is; a
fifth of the whole digest's CPU: no Python object per row) and the pure-Python one below,
``re.split`` and ``xxhash``, which is what runs when the extension is not importable.
``NATIVE_READER`` says which one a process has; ``ROW_READER`` is the one the archive digester
uses.
"""

from __future__ import annotations

import functools
import re
from typing import Protocol

from backproof.sources.table_digests import sum_row_hashes

END_MARKER = b"\\."


class RowReader(Protocol):
    """Finds and hashes the rows of a table's data block (the module docstring)."""

    def rows_within(
        self, buffer: bytes, start: int, int_size: int, bits: int, at_block_start: bool, /
    ) -> tuple[int, int, int] | None:
        """Return (consumed, rows, total) of the complete rows in ``buffer[start:]``; None
        (having read nothing) when the block ends in it."""
        ...

    def rows_to_end(
        self, buffer: bytes, start: int, int_size: int, bits: int, at_block_start: bool, /
    ) -> tuple[bool, int, int, int]:
        """Return (ended, consumed, rows, total) of the complete rows of the block in
        ``buffer[start:]``, its end found first."""
        ...


class PythonRowReader:
    """The pure-Python reader: ``re.split`` into one bytes object per row, hashed by xxhash."""

    def rows_within(
        self, buffer: bytes, start: int, int_size: int, bits: int, at_block_start: bool, /
    ) -> tuple[int, int, int] | None:
        """Return (consumed, rows, total) of the complete rows in ``buffer[start:]``; None
        when the block ends in it."""
        block = _block(buffer, start, at_block_start)
        pieces = _patterns(int_size).rows.split(block)
        lengths = pieces[1::2]  # None, or a zero length (the block ends): counted by identity
        if lengths.count(None) != len(lengths):
            return None
        lines = pieces[::2]
        if len(lines) == 1:
            return 0, 0, 0  # not one complete line yet
        consumed = len(block) - len(lines.pop()) - at_block_start
        if at_block_start:
            lines.pop(0)  # what precedes the first chunk's header: nothing
        return consumed, len(lines), sum_row_hashes(lines, bits)

    def rows_to_end(
        self, buffer: bytes, start: int, int_size: int, bits: int, at_block_start: bool, /
    ) -> tuple[bool, int, int, int]:
        """Return (ended, consumed, rows, total) of the complete rows of the block in
        ``buffer[start:]``, its end found first."""
        block = _block(buffer, start, at_block_start)
        patterns = _patterns(int_size)
        end = block.find(patterns.end_of_block)
        lines = patterns.header.split(block if end < 0 else block[:end])
        if end < 0 and len(lines) == 1:
            return False, 0, 0, 0  # not one complete line yet
        if at_block_start:
            lines.pop(0)  # what precedes the first chunk's header: nothing
        if end < 0:
            consumed = len(block) - len(lines.pop()) - at_block_start
            return False, consumed, len(lines), sum_row_hashes(lines, bits)
        if lines and lines[-1].startswith(END_MARKER):
            lines.pop()
        consumed = end + len(patterns.end_of_block) - at_block_start
        return True, consumed, len(lines), sum_row_hashes(lines, bits)


def _block(buffer: bytes, start: int, at_block_start: bool) -> bytes:
    """Return the bytes from ``start``, after a newline at a block's start."""
    if not 0 <= start <= len(buffer):
        raise ValueError("start must be inside the buffer")
    block = buffer[start:] if start else buffer
    return b"\n" + block if at_block_start else block


class _Patterns:
    """What the pure-Python reader searches for in an archive of ``int_size``."""

    def __init__(self, int_size: int) -> None:
        zero_length = b"\x00" * int_size
        self.header = re.compile(b"\n\x00[\x00-\xff]{%d}" % int_size)
        # A chunk's header: its length captured when it is zero (the end of the block).
        self.rows = re.compile(b"(?s)\n\x00(?:(%s)|.{%d})" % (zero_length, int_size))
        self.end_of_block = b"\n\x00" + zero_length


@functools.cache
def _patterns(int_size: int) -> _Patterns:
    return _Patterns(int_size)


def _native_reader() -> RowReader | None:
    try:
        from backproof._native import copy_rows  # noqa: PLC0415 - optional: may not be built
    except ImportError:  # installed without a C compiler: the pure-Python reader runs
        return None
    return copy_rows


PYTHON_READER: RowReader = PythonRowReader()
NATIVE_READER = _native_reader()
ROW_READER: RowReader = NATIVE_READER or PYTHON_READER
