"""MySQL/MariaDB table digests, from the rows of a dump stream.

Two methods; a backup records the first, verify computes the one its manifest names.

``mysql-dump-pk-order-xxh3-128`` (``ORDERED_METHOD``): the dump is taken with
``--order-by-primary``, so the rows of a table with a primary key come in the order of its key,
whatever order the server stores them in. Such a table's digest is the xxh3-128 of its rows'
tuples in that order, each followed by ``,\\n`` (the rows as one ``INSERT`` printing a row a line
would hold them, whatever statements the dump cut them into). The rows are hashed where they lie
in the stream, a run of lines at a time, without being read apart: a few Python steps per
``INSERT`` statement (about 1 MB), none per row. A table without a primary key (whose order the
server does not promise) is digested as by the older method.

``mysql-dump-tuple-xxh3-128-sum`` (``TUPLE_SUM_METHOD``, the backups before): the sum of the
xxh3-128 hash of every row's tuple (``table_digests``).

In both, the canonical bytes of a row are its ``(…)`` tuple exactly as the dump tool prints it,
without the ``,`` or ``;`` that follows: the server renders every value (numbers, dates in UTC with
``--tz-utc``, binary as hex with ``--hex-blob``, strings escaped by the client library), so the
same values print the same tuple. Verify dumps the restored copy with the same tool and the
same options and reads it with the same scanner: canonical by construction.

In a data section a row after the first of an ``INSERT`` starts its own line; the first shares
the line of ``INSERT INTO … VALUES``, and older tools write a whole statement on one line.

The rows are read apart in C: a value never holds a raw newline (the dump escapes it), so
every ``,\\n`` ends a row, and ``bytes.split`` on it returns the tuples themselves, without
Python work per row. The few texts it returns that hold a newline (where a statement ends and
the next begins) or that do not start a row (the region's first, on an ``INSERT`` line) are read
line by line.
"""

from __future__ import annotations

from itertools import compress, count, repeat
from operator import contains

import xxhash

from backproof.archive.manifest import TableDigest
from backproof.sources.dump_lines import count_newlines, find_statement_end
from backproof.sources.mysql_values import INSERT_PREFIX, split_rows
from backproof.sources.table_digests import RowDigest, require_known_method

ORDERED_METHOD = "mysql-dump-pk-order-xxh3-128"
TUPLE_SUM_METHOD = "mysql-dump-tuple-xxh3-128-sum"
DIGEST_METHOD = ORDERED_METHOD  # what a backup records
METHODS = (ORDERED_METHOD, TUPLE_SUM_METHOD)
END_OF_DATA = b"UNLOCK TABLES;\n"
_STEPPED_LINES = 16  # a row this close is reached line by line
_ROW_SEPARATOR = b",\n"
_NEWLINE = ord("\n")  # an int: ``in`` looks for it with memchr, without trying a conversion


def read_rows(region: bytes) -> tuple[list[bytes], bool]:
    """Return the tuple of every row in the complete lines of a data section, in order, and
    True when every line was read as rows or as a known statement line (else the rows are to
    be counted apart: an identifier with a newline may have cut an ``INSERT`` line)."""
    pieces = region.split(_ROW_SEPARATOR)
    tail = pieces.pop()  # the complete lines after the last separator, or nothing
    odd = list(compress(count(), map(contains, pieces, repeat(_NEWLINE, len(pieces)))))
    if pieces and not pieces[0].startswith(b"(") and odd[:1] != [0]:
        odd.insert(0, 0)
    if not odd and not tail:
        return pieces, True
    rows: list[bytes] = []
    is_known = True
    start = 0
    for index in odd:
        rows += pieces[start:index]
        # The piece was cut before a ",\n": with its comma its last line is whole again.
        is_known &= read_lines(pieces[index] + b",", rows)
        start = index + 1
    rows += pieces[start:]
    is_known &= read_lines(tail, rows)
    return rows, is_known


def read_lines(text: bytes, rows: list[bytes]) -> bool:
    """Append the tuple of every row in some lines of a data section to ``rows``, in order: a
    line that starts with ``(`` is one row, an ``INSERT`` line holds one (when it ends with
    ``,``) or all of a one-line statement. Return False when a line was none of these, a
    versioned comment or empty."""
    is_known = True
    position = 0
    while position < len(text):
        prefix = (
            INSERT_PREFIX.match(text, position) if text.startswith(b"INSERT", position) else None
        )
        values = prefix.end() if prefix is not None else position
        end = text.find(b"\n", values)
        end = len(text) if end < 0 else end
        if prefix is not None:
            _read_insert_line(text, values, end, rows)
        elif text.startswith(b"(", position):
            rows.append(text[position : end - 1])
        elif end > position and not text.startswith(b"/*!", position):
            is_known = False
        position = end + 1
    return is_known


def _read_insert_line(text: bytes, values: int, end: int, rows: list[bytes]) -> None:
    """Append the rows of the ``INSERT`` line whose values run over ``text[values:end]``."""
    if text.endswith(b"),", values, end):
        rows.append(text[values : end - 1])
    elif text.endswith(b");", values, end):
        rows.extend(split_rows(text[values:end]))


class OrderedDigest:
    """The running digest of a table whose rows come in the order of its primary key."""

    def __init__(self) -> None:
        self.rows = 0
        self._hash = xxhash.xxh3_128()
        # Of the last lines read: where their first row's line starts (-1: none), and whether
        # their rows are the lines from there on, one row a line (then found by their index).
        self.first_row_line = -1
        self.is_row_a_line = True

    def add_section(self, data: bytes, position: int, end: int) -> tuple[int, bool]:
        """Hash the rows in the complete lines ``data[position:end]`` of the table's data
        section; return where its ``UNLOCK TABLES;`` line starts (-1: not in these lines), and
        True when every line was a row, an ``INSERT`` line or a versioned comment."""
        view = memoryview(data)
        is_known = True
        self.first_row_line = -1
        self.is_row_a_line = True
        is_after_rows = False  # a line that holds no row came after rows
        while position < end:
            if data.startswith(b"(", position):
                self._note_row_line(position, is_after_rows)
                position, is_rows = self._add_row_lines(data, view, position, end)
                is_known &= is_rows
                continue
            if data.startswith(END_OF_DATA, position):
                return position, is_known
            prefix = (
                INSERT_PREFIX.match(data, position, end)
                if data.startswith(b"INSERT", position)
                else None
            )
            values = prefix.end() if prefix is not None else position
            line_end = data.find(b"\n", values, end)
            line_end = end if line_end < 0 else line_end
            if prefix is not None and data.endswith(b"),", values, line_end):
                self._note_row_line(position, is_after_rows)
                position = values  # the statement's first row: row lines from here
                continue
            if prefix is not None and data.endswith(b");", values, line_end):
                self.add_rows(split_rows(data[values:line_end]))  # one line: one or all rows
                self.is_row_a_line = False
            elif line_end > values and (
                prefix is not None or not data.startswith(b"/*!", position)
            ):
                is_known = False  # neither rows, an INSERT line nor a versioned comment
            else:
                is_after_rows = self.first_row_line >= 0
                self.is_row_a_line &= prefix is None  # not an INSERT whose rows start below
            position = line_end + 1
        return -1, is_known

    def _note_row_line(self, position: int, is_after_rows: bool) -> None:
        if self.first_row_line < 0:
            self.first_row_line = position
        self.is_row_a_line &= not is_after_rows

    def _add_row_lines(
        self, data: bytes, view: memoryview, position: int, end: int
    ) -> tuple[int, bool]:
        """Hash the row lines from ``position`` to the end of their statement, or to ``end``
        when the statement goes on past it; return where reading goes on, and False when the
        lines did not end as rows do (they are then passed over).

        One search finds where the statement ends: a ``;`` ending a line before the next
        statement's ``INSERT INTO`` line or before ``UNLOCK TABLES;`` (after the comment lines
        that close the section). A row line ends with ``),`` or ``);``: a value never holds a
        raw newline.
        """
        boundary = find_statement_end(data, position, end)
        block_end = end if boundary < 0 else boundary + 2
        if boundary < 0 and data.endswith(b"),\n", position, block_end):
            # The statement goes on past these lines: complete lines, each ending ",\n".
            self._hash.update(view[position:block_end])
            self.rows += count_newlines(data, position, block_end)
            return block_end, True
        last = data.rfind(b");\n", position, block_end)
        if last < 0:
            return block_end, False
        self._hash.update(view[position : last + 1])
        self._hash.update(_ROW_SEPARATOR)
        self.rows += count_newlines(data, position, last) + 1
        return last + 3, True

    def add_rows(self, rows: list[bytes]) -> None:
        """Hash the tuples ``rows``, in order."""
        if rows:
            self._hash.update(_ROW_SEPARATOR.join(rows))
            self._hash.update(_ROW_SEPARATOR)
            self.rows += len(rows)

    def result(self) -> TableDigest:
        """Return the digest as the manifest records it (an empty table's is zero, as by the
        older method)."""
        if not self.rows:
            return RowDigest().result()
        return TableDigest(rows=self.rows, digest=self._hash.hexdigest())


class RowLines:
    """The rows of a region written a row a line, found by their index (ascending) without
    reading the others apart: the newlines are counted in C up to a guess just short of the
    row, then the few lines left are stepped over."""

    def __init__(self, data: bytes, first_row_line: int, end: int, rows: int) -> None:
        self._data = data
        self._position = first_row_line  # the start of the line of row ``_index``
        self._index = 0
        self._average = max(1, (end - first_row_line) // max(1, rows))

    def __getitem__(self, index: int) -> bytes:
        """Return the tuple of the row ``index`` (at or after the last one asked for)."""
        region = self._data
        while index - self._index > _STEPPED_LINES:
            guess = self._position + (index - self._index - _STEPPED_LINES // 2) * self._average
            newlines = region.count(b"\n", self._position, guess)
            if self._index + newlines > index:
                self._average = max(1, self._average // 2)  # past the row: aim shorter
                continue
            self._position = region.rfind(b"\n", self._position, guess) + 1
            self._index += newlines
            if newlines == 0:
                break
        while self._index < index:
            self._position = region.index(b"\n", self._position) + 1
            self._index += 1
        start = self._position
        if region.startswith(b"INSERT", start):
            prefix = INSERT_PREFIX.match(region, start)
            start = start if prefix is None else prefix.end()
        return region[start : region.index(b"\n", start) - 1]


class DumpDigests:
    """The digest of every table of one dump stream, fed one region at a time."""

    def __init__(self, method: str = DIGEST_METHOD) -> None:
        require_known_method(method, METHODS)
        self.method = method
        self._tables: dict[str, RowDigest | OrderedDigest] = {}

    def is_ordered(self, table: str, has_primary_key: bool) -> bool:
        """Return True when ``table``'s rows are hashed in order (``add_region``)."""
        return has_primary_key and self.method == ORDERED_METHOD

    def add(self, table: str, rows: list[bytes]) -> None:
        """Digest the tuples ``rows`` of ``table`` (a table without a primary key, or any
        table by the older method)."""
        digest = self._tables.setdefault(table, RowDigest())
        assert isinstance(digest, RowDigest)  # noqa: S101 - one kind per table
        digest.add(rows)

    def add_section(self, table: str, data: bytes, position: int, end: int) -> tuple[int, bool]:
        """Digest the rows of ``table`` (with a primary key) in the complete lines
        ``data[position:end]`` of its data section; return where the section ends (-1: not
        there) and False when a line was of an unknown shape."""
        digest = self._tables.setdefault(table, OrderedDigest())
        assert isinstance(digest, OrderedDigest)  # noqa: S101 - one kind per table
        return digest.add_section(data, position, end)

    def row_lines(self, table: str, data: bytes, end: int, rows: int) -> RowLines | None:
        """Return the ``rows`` rows that ``add_section`` just hashed in ``data[:end]``, found
        by index, when they were written a row a line; else None (read them apart)."""
        digest = self._tables.get(table)
        if not isinstance(digest, OrderedDigest) or not digest.is_row_a_line or not rows:
            return None
        return RowLines(data, digest.first_row_line, end, rows)

    def rows(self, table: str) -> int:
        """Return the number of rows of ``table`` digested so far."""
        digest = self._tables.get(table)
        return 0 if digest is None else digest.rows

    def result(self, counts: dict[str, int]) -> tuple[dict[str, TableDigest], list[str]]:
        """Return the digests of the tables whose rows agree with ``counts`` (the rows the
        scanner counted), and a warning for each table left without one."""
        digests = {}
        for table, rows in counts.items():
            digest = self._tables.get(table, RowDigest())
            if digest.rows == rows:
                digests[table] = digest.result()
        warnings = [
            f"table {table}: no digest recorded (the dump's rows could not be read apart)"
            for table in sorted(set(counts) - set(digests))
        ]
        return digests, warnings
