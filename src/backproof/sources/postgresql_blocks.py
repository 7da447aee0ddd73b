"""Where each data block of a custom archive starts, found as the stream passes.

A parallel restore writes the streamed archive to a spool and then needs each data block's
offset (``postgresql_spool``). Finding them as the bytes are written spares a second read of
the whole spool: the blocks are walked as ``postgresql_spool`` walks the file (a table's block
ends at the first newline followed by a zero length, large-object blocks are walked chunk by
chunk), with the same result. A stream it cannot walk only loses the offsets here: the spool
then finds them by reading the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, auto

from backproof.sources.postgresql_archive import (
    BLOCK_DATA,
    BLOCK_LARGE_OBJECTS,
    ArchiveFormatError,
    TableOfContents,
    read_complete_table_of_contents,
)


class _Step(Enum):
    """What the walk reads next."""

    CONTENTS = auto()  # the header and table of contents
    BLOCK = auto()  # a block's type and dump id
    FIRST_LENGTH = auto()  # the first chunk length of a table's block (zero: no rows)
    ROWS = auto()  # a table's rows, up to the newline followed by a zero length
    OBJECT = auto()  # a large object's id (zero: the block ends)
    OBJECT_LENGTH = auto()  # the length of a large object's next chunk (zero: it ends)
    SKIP = auto()  # the bytes of a large object's chunk


@dataclass
class BlockLocator:
    """Feed the bytes of an uncompressed custom archive; ``located()`` returns its table of
    contents and where each data block starts (by dump id), or None when the stream could not
    be walked to its end."""

    _buffer: bytes = b""
    _at: int = 0  # where ``_buffer`` starts in the stream
    _step: _Step = _Step.CONTENTS
    _skip: int = 0
    _contents: TableOfContents | None = None
    _failed: bool = False
    _toc_tried_at: int = 0
    _starts: dict[int, int] = field(default_factory=dict)
    _end_of_rows: bytes = b""

    def feed(self, chunk: bytes) -> None:
        """Walk ``chunk``, the next bytes of the archive (nothing more after a problem)."""
        if self._failed:
            return
        self._buffer = self._buffer + chunk if self._buffer else chunk
        try:
            used = self._walk()
        except ArchiveFormatError:
            self._failed, self._buffer = True, b""
            return
        self._buffer = self._buffer[used:]
        self._at += used

    def located(self) -> tuple[TableOfContents, dict[int, int]] | None:
        """Return the table of contents and the data blocks' starts; None when the stream
        ended inside a block or could not be read."""
        if self._failed or self._contents is None or self._buffer or self._step != _Step.BLOCK:
            return None
        return self._contents, self._starts

    def _walk(self) -> int:
        """Walk the buffer as far as it goes; return how many of its bytes are done with."""
        position = 0
        while True:
            advanced = self._advance(position)
            if advanced is None:
                return position
            position = advanced

    def _advance(self, position: int) -> int | None:
        """Take one step from ``position``; return where the next starts, None for more bytes."""
        if self._step == _Step.CONTENTS:
            return self._read_contents()
        if self._step == _Step.ROWS:
            return self._find_end_of_rows(position)
        if self._step == _Step.SKIP:
            taken = min(self._skip, len(self._buffer) - position)
            self._skip -= taken
            if self._skip == 0:
                self._step = _Step.OBJECT_LENGTH
            return position + taken if taken else None
        if self._step == _Step.BLOCK:
            return self._read_block(position)
        return self._read_length(position)

    def _read_contents(self) -> int | None:
        # The table is read again only when the buffer has doubled: a long one costs linear time.
        if len(self._buffer) < 2 * self._toc_tried_at:
            return None
        self._toc_tried_at = len(self._buffer)
        contents = read_complete_table_of_contents(self._buffer)
        if contents is None:
            return None
        self._contents, self._step = contents, _Step.BLOCK
        self._end_of_rows = b"\n" + b"\x00" * (1 + contents.int_size)
        return contents.end

    def _read_block(self, position: int) -> int | None:
        if position == len(self._buffer):
            return None
        kind = self._buffer[position]
        dump_id, after = self._integer(position + 1)
        if dump_id is None:
            return None
        self._starts[dump_id] = self._at + position
        if kind == BLOCK_DATA:
            self._step = _Step.FIRST_LENGTH
        elif kind == BLOCK_LARGE_OBJECTS:
            self._step = _Step.OBJECT
        else:
            raise ArchiveFormatError(f"unknown block type {kind} at byte {self._at + position}")
        return after

    def _read_length(self, position: int) -> int | None:
        value, after = self._integer(position)
        if value is None:
            return None
        if self._step == _Step.FIRST_LENGTH:
            self._step = _Step.BLOCK if value == 0 else _Step.ROWS
            return after if value == 0 else position  # the rows' search starts at the length
        if self._step == _Step.OBJECT:
            self._step = _Step.BLOCK if value == 0 else _Step.OBJECT_LENGTH
            return after
        self._step, self._skip = (_Step.OBJECT, 0) if value == 0 else (_Step.SKIP, value)
        return after

    def _find_end_of_rows(self, position: int) -> int | None:
        found = self._buffer.find(self._end_of_rows, position)
        if found < 0:
            # Keep what could begin the pattern; the rest is done with.
            kept = max(position, len(self._buffer) - len(self._end_of_rows) + 1)
            return kept if kept > position else None
        self._step = _Step.BLOCK
        return found + len(self._end_of_rows)

    def _integer(self, position: int) -> tuple[int | None, int]:
        """Return the archive integer at ``position`` and where it ends; None when cut."""
        assert self._contents is not None  # noqa: S101 - read after the table of contents
        end = position + 1 + self._contents.int_size
        if end > len(self._buffer):
            return None, position
        value = int.from_bytes(self._buffer[position + 1 : end], "little")
        return (-value if self._buffer[position] else value), end
