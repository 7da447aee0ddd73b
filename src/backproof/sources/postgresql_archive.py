"""Digests of every table in a pg_dump custom-format archive, read as the stream passes.

An uncompressed custom archive (``pg_dump -Fc -Z0``) is a header, a table of contents (TOC) and
then one data block per ``TABLE DATA`` entry. A block is a type byte, the entry's dump id, and
chunks, each an integer length (a sign byte and ``int_size`` little-endian bytes) and that many
bytes; a zero length ends the block. pg_dump writes one chunk per row of ``COPY … TO STDOUT``
(text format, one line per row, no raw newline or NUL inside a line) and ends with ``\\.``.

So the rows of a block are found in bulk, without walking it chunk by chunk: every line ends
with a newline followed by the next chunk's header, ``\\n\\x00`` and four length bytes, and
nothing else in the block looks like that; the block ends at the first newline followed by a
zero length. ``copy_rows`` finds and hashes them (in C when the extension is built, else with
``re.split``): the first block read from a buffer is split whole at once and the buffer never
searched again for its end when it does not end there (the common case: a table's rows span
many chunks); a buffer where a block ends is read by finding the end first, then splitting the
rows before it, so the work stays linear in the bytes however many small tables a buffer holds.
Other blocks (large objects) are walked exactly and not digested. The same reader digests the
dump at backup time and a dump of the restored database at verify time, so both sides are
canonical by construction.

Each row (its line, without the chunk header and the newline) is hashed with the width its
``digest_method`` names: ``postgresql-copy-text-xxh3-64-sum`` (backups from 2026-12-01: xxh3-64
summed modulo 2**64, about 20 % less CPU for the whole digest than 128 bits: a cheaper hash,
smaller Python ints to make and add) or ``postgresql-copy-text-xxh3-128-sum`` (the backups
before, still verified with it: the verify side computes the method the manifest names).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backproof.archive.manifest import TableDigest
from backproof.sources.copy_rows import ROW_READER, RowReader
from backproof.sources.postgresql_labels import table_label
from backproof.sources.table_digests import RowDigest

MAGIC = b"PGDMP"
BLOCK_DATA = 1
BLOCK_LARGE_OBJECTS = 3
# The flag byte of an entry's data offset (pg_backup_custom.c: K_OFFSET_…).
OFFSET_SET = 2
OFFSET_NO_DATA = 3
# How far into a new chunk the row left over from the last one is first looked for its end.
_JOINT_BYTES = 4096
LINE_METHOD_64 = "postgresql-copy-text-xxh3-64-sum"
LINE_METHOD_128 = "postgresql-copy-text-xxh3-128-sum"
METHOD_BITS = {LINE_METHOD_64: 64, LINE_METHOD_128: 128}


class ArchiveFormatError(ValueError):
    """The stream is not an uncompressed custom archive this reader knows."""


class UnknownMethodError(ArchiveFormatError):
    """The manifest names a digest method this version cannot compute."""


class _IncompleteError(Exception):
    """More bytes are needed."""


@dataclass
class _Cursor:
    """Reads the integers and strings of the archive's header and TOC from a buffer."""

    data: bytes
    int_size: int = 4
    position: int = 0

    def take(self, count: int) -> bytes:
        end = self.position + count
        if end > len(self.data):
            raise _IncompleteError
        piece = self.data[self.position : end]
        self.position = end
        return piece

    def integer(self) -> int:
        sign, value = self.take(1)[0], int.from_bytes(self.take(self.int_size), "little")
        return -value if sign else value

    def string(self) -> str | None:
        length = self.integer()
        return None if length < 0 else self.take(length).decode("utf-8", "surrogateescape")


@dataclass
class _Entry:
    label: str


@dataclass(frozen=True)
class TocEntry:
    """One entry of the table of contents: its dump id, kind (``TABLE``, ``INDEX``…), schema,
    name, and the dump ids it depends on."""

    dump_id: int
    description: str
    namespace: str | None
    tag: str | None
    dependencies: tuple[int, ...]


@dataclass
class ArchiveDigester:
    """Feed the bytes of a custom archive; ``digests()`` returns each table's digest.

    ``method`` is a key of ``METHOD_BITS``. Raises UnknownMethodError for another method,
    ArchiveFormatError (from ``feed``/``finish``) on a stream it cannot read.
    """

    method: str = LINE_METHOD_64
    reader: RowReader = ROW_READER
    _buffer: bytes = b""
    _start: int = 0  # where the bytes of ``_buffer`` not read yet begin
    _int_size: int = 4
    _entries: dict[int, _Entry] | None = None
    _table: RowDigest | None = None
    _at_block_start: bool = False
    _tables: dict[str, RowDigest] = field(default_factory=dict)
    _whole_buffer: bool = False
    _bits: int = 64
    # The pieces of a row that spans chunks, kept unread until its end (``feed``), and the last
    # bytes of them, where the header after the row may have begun.
    _long_row: list[bytes] = field(default_factory=list)
    _tail: bytes = b""

    def __post_init__(self) -> None:
        if self.method not in METHOD_BITS:
            raise UnknownMethodError(f"unknown PostgreSQL digest method {self.method!r}")
        self._bits = METHOD_BITS[self.method]

    def feed(self, chunk: bytes) -> None:
        """Read ``chunk``, the next bytes of the archive."""
        if self._long_row:
            self._feed_long_row(chunk)
            return
        carry = self._buffer[self._start :]
        joint = self._joint_length(carry, chunk)
        if joint is None:
            # A row longer than the bytes read since it began: its pieces are kept apart and
            # read once its end comes, so that a row of many chunks is neither copied nor
            # searched again at every chunk (which grew with the square of its length).
            self._long_row = [carry, chunk]
            self._tail = (carry + chunk[-self._int_size - 1 :])[-self._int_size - 1 :]
        elif joint:
            self._read(carry + chunk[:joint], 0)
            self._read(chunk, joint)
        else:
            self._read(carry + chunk if carry else chunk, 0)

    def _joint_length(self, carry: bytes, chunk: bytes) -> int | None:
        """Return how many bytes of ``chunk`` complete the row ``carry`` holds, up to the end of
        the first chunk header after it; 0 unless ``carry`` is a row inside a table, None when
        that row goes on past ``chunk``.

        The rows are then read in that joint and in the rest of ``chunk`` where it is, as in
        ``carry + chunk`` (a header ends where one starts): a copy of the row, not of the
        chunk, whose fresh pages cost more system CPU than hashing its rows in C.
        """
        if self._table is None or self._at_block_start or not carry:
            return 0
        return self._row_end(carry, chunk)

    def _row_end(self, before: bytes, chunk: bytes) -> int | None:
        """Return how many bytes of ``chunk`` reach the end of the first chunk header in
        ``before + chunk`` (at least 0), None when no header ends there."""
        header_size, reach = 2 + self._int_size, _JOINT_BYTES
        while True:
            joint = before + chunk[:reach]
            at = joint.find(b"\n\x00")
            if at >= 0 and at + header_size <= len(joint):
                return max(0, at + header_size - len(before))
            if reach >= len(chunk):
                return None
            reach *= 4

    def _feed_long_row(self, chunk: bytes) -> None:
        """Keep ``chunk`` with the long row's pieces, or read the row once ``chunk`` ends it.

        The pieces hold no complete chunk header (the reader consumed every one before them,
        and every chunk kept since was searched whole): its end is looked for in ``chunk`` only,
        after the last bytes kept, where a header may have begun.
        """
        end = self._row_end(self._tail, chunk)
        if end is None:
            self._long_row.append(chunk)
            self._tail = (self._tail + chunk[-self._int_size - 1 :])[-self._int_size - 1 :]
            return
        pieces, self._long_row, self._tail = self._long_row, [], b""
        self._read(b"".join([*pieces, chunk[:end]]), 0)
        self._read(chunk, end)

    def _read(self, buffer: bytes, start: int) -> None:
        """Read ``buffer`` from ``start``: what was not read before, then the new bytes."""
        self._buffer, self._start = buffer, start
        if self._entries is None and not self._read_toc():
            return
        self._whole_buffer = True
        while self._start < len(self._buffer):
            if self._table is not None:
                if not self._read_table_data():
                    return
            elif not self._read_block():
                return

    def finish(self) -> dict[str, TableDigest]:
        """Return the digest of every table; ArchiveFormatError when the stream was cut."""
        if self._entries is None or self._table is not None or self._start < len(self._buffer):
            raise ArchiveFormatError("the archive ended in the middle")
        return {label: digest.result() for label, digest in self._tables.items()}

    def _read_toc(self) -> bool:
        cursor = _Cursor(self._buffer, position=self._start)
        try:
            entries = _read_header_and_toc(cursor)
        except _IncompleteError:
            return False
        self._int_size = cursor.int_size
        self._entries = entries
        self._start = cursor.position
        return True

    def _read_block(self) -> bool:
        """Read a block's type and id; start a table or walk another block exactly."""
        cursor = _Cursor(self._buffer, self._int_size, self._start)
        try:
            kind = cursor.take(1)[0]
            dump_id = cursor.integer()
            entry = (self._entries or {}).get(dump_id)
            if kind == BLOCK_DATA and entry is not None:
                self._start = cursor.position
                self._table = self._tables.setdefault(entry.label, RowDigest(bits=self._bits))
                self._at_block_start = True
                return True
            if kind not in (BLOCK_DATA, BLOCK_LARGE_OBJECTS):
                raise ArchiveFormatError(f"unknown block type {kind} in the archive")
            _skip_block(cursor, large_objects=kind == BLOCK_LARGE_OBJECTS)
        except _IncompleteError:
            return False
        self._start = cursor.position
        return True

    def _read_table_data(self) -> bool:
        """Digest the complete lines of the current table's block; True when it ended."""
        if self._whole_buffer:
            # The first block read from this buffer: split all of it at once; when the block
            # ends inside, read it as a block ending here (below) instead.
            self._whole_buffer = False
            if self._read_rows_within():
                return False
        return self._read_rows_to_end()

    def _read_rows_within(self) -> bool:
        """Digest the complete lines of the buffer when the block does not end in it; return
        False (having read nothing) when it does."""
        found = self.reader.rows_within(
            self._buffer, self._start, self._int_size, self._bits, self._at_block_start
        )
        if found is None:
            return False
        self._take_rows(*found)
        return True

    def _read_rows_to_end(self) -> bool:
        """Digest the complete lines of the current table's block, finding where it ends
        first; True when it ended."""
        ended, consumed, rows, total = self.reader.rows_to_end(
            self._buffer, self._start, self._int_size, self._bits, self._at_block_start
        )
        self._take_rows(consumed, rows, total)
        if ended:
            self._table = None
        return ended

    def _take_rows(self, consumed: int, rows: int, total: int) -> None:
        """Add the rows a reader found to the current table; drop the bytes it consumed."""
        assert self._table is not None  # noqa: S101 - called inside a table's block only
        if consumed:
            self._at_block_start = False
            self._start += consumed
            self._table.add_sum(rows, total)


@dataclass(frozen=True)
class TableOfContents:
    """Where the data offsets of a custom archive's entries are written: each entry with data
    by dump id -> the position of its offset field (a flag byte, then ``offset_size`` bytes)."""

    int_size: int
    offset_size: int
    end: int
    offset_fields: dict[int, int]


def read_table_of_contents(data: bytes) -> TableOfContents:
    """Return the table of contents of the archive that ``data`` starts with.

    Raises ArchiveFormatError when it is not an uncompressed custom archive or is cut short.
    """
    contents = read_complete_table_of_contents(data)
    if contents is None:
        raise ArchiveFormatError("the archive ends inside its table of contents")
    return contents


def read_complete_table_of_contents(data: bytes) -> TableOfContents | None:
    """Return the table of contents of the archive that ``data`` starts with; None when
    ``data`` ends before the table does.

    Raises ArchiveFormatError when it is not an uncompressed custom archive.
    """
    cursor = _Cursor(data)
    offset_fields: dict[int, int] = {}
    try:
        _read_header_and_toc(cursor, offset_fields)
    except _IncompleteError:
        return None
    offset_size = data[len(MAGIC) + 4]
    return TableOfContents(cursor.int_size, offset_size, cursor.position, offset_fields)


def read_toc_entries(data: bytes) -> list[TocEntry] | None:
    """Return every entry of the table of contents that ``data`` starts with, in order; None
    when ``data`` ends before the table does.

    Raises ArchiveFormatError when it is not an uncompressed custom archive.
    """
    every_entry: list[TocEntry] = []
    try:
        _read_header_and_toc(_Cursor(data), every_entry=every_entry)
    except _IncompleteError:
        return None
    return every_entry


def _read_header_and_toc(
    cursor: _Cursor,
    offset_fields: dict[int, int] | None = None,
    every_entry: list[TocEntry] | None = None,
) -> dict[int, _Entry]:
    """Return the TABLE DATA entries by dump id; note in ``offset_fields`` where each entry
    with data has its offset, and in ``every_entry`` each entry. Raises _IncompleteError,
    ArchiveFormatError."""
    if cursor.take(len(MAGIC)) != MAGIC:
        raise ArchiveFormatError("not a pg_dump custom archive")
    major, minor, revision = cursor.take(3)
    version = (major, minor, revision)
    if version < (1, 12, 0) or version >= (1, 17, 0):
        raise ArchiveFormatError(f"archive version {major}.{minor}.{revision} is not supported")
    cursor.int_size, offset_size, archive_format = cursor.take(3)
    if archive_format != 1:
        raise ArchiveFormatError("not a custom-format archive")
    compression = cursor.take(1)[0] if version >= (1, 15, 0) else cursor.integer()
    if compression != 0:
        raise ArchiveFormatError("the archive is compressed (backproof dumps with -Z0)")
    for _field in range(7):  # the time of the dump
        cursor.integer()
    for _field in range(3):  # database name, server and pg_dump versions
        cursor.string()
    entries = {}
    for _index in range(cursor.integer()):
        entry, offset_at = _read_entry(cursor, version, offset_size)
        if offset_fields is not None and cursor.data[offset_at] != OFFSET_NO_DATA:
            offset_fields[entry.dump_id] = offset_at
        if every_entry is not None:
            every_entry.append(entry)
        if entry.description == "TABLE DATA" and entry.tag is not None:
            entries[entry.dump_id] = _Entry(table_label(entry.namespace, entry.tag))
    return entries


def _read_entry(
    cursor: _Cursor, version: tuple[int, int, int], offset_size: int
) -> tuple[TocEntry, int]:
    dump_id = cursor.integer()
    cursor.integer()  # had dumper
    cursor.string(), cursor.string()  # table oid, oid
    tag, description = cursor.string(), cursor.string()
    cursor.integer()  # section
    cursor.string(), cursor.string(), cursor.string()  # definition, drop, copy statement
    namespace = cursor.string()
    cursor.string(), cursor.string()  # tablespace, table access method
    if version >= (1, 16, 0):
        cursor.integer()  # relkind
    cursor.string(), cursor.string()  # owner, "with oids"
    dependencies = []
    while (dependency := cursor.string()) is not None:
        dependencies.append(int(dependency))
    offset_at = cursor.position
    cursor.take(1 + offset_size)  # the data offset (unknown in a streamed archive)
    entry = TocEntry(dump_id, description or "", namespace, tag, tuple(dependencies))
    return entry, offset_at


def _skip_block(cursor: _Cursor, *, large_objects: bool) -> None:
    """Walk the chunks of a block that is not digested (large objects, unknown data)."""
    while True:
        if large_objects and cursor.integer() == 0:
            return
        while (length := cursor.integer()) != 0:
            cursor.take(length)
        if not large_objects:
            return
