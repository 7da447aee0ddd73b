"""Reading a mariadb-dump/mysqldump stream as it passes: its tables, row counts and samples.

MySQL and MariaDB cannot share a snapshot with another session, so the facts of a dump are read
from the dump itself: whatever the application writes meanwhile, they describe exactly the rows
the dump holds. The stream is read line by line outside the data sections (the schema is small)
and in bulk inside them:

- a data section runs from ``LOCK TABLES `t` WRITE;`` to ``UNLOCK TABLES;``;
- the rows of a table with a primary key (its ``CREATE TABLE`` in the dump says so) are hashed
  in place, in the key's order, and counted by their lines (``mysql_digests.OrderedDigest``);
- the sampled rows of such a key table are found by their index (``mysql_digests.RowLines``)
  when the dump writes a row a line;
- the rows of the other tables, and of key tables otherwise, are read apart in bulk
  (``mysql_digests.read_rows``: a string value never holds a raw newline, so every ``,`` that
  ends a line ends a row when the dump writes one row per line, as mariadb-dump 10.11 and later
  do; the one-line statements of older tools are read apart outside their string literals),
  then counted, digested and, for key tables, sampled;
- ``DELIMITER ;;`` blocks (triggers, routines, events) are skipped: their bodies may hold
  ``INSERT`` lines of their own.

Rows of the key tables are parsed into values and sampled evenly, without knowing the row count
in advance: every ``stride``-th row is kept, and the stride doubles whenever twice the wanted
number of rows has been kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backproof.archive.manifest import SampledRows
from backproof.errors import SourceError
from backproof.sources.dump_lines import find_bytes
from backproof.sources.mysql_digests import (
    DIGEST_METHOD,
    END_OF_DATA,
    DumpDigests,
    RowLines,
    read_rows,
)
from backproof.sources.mysql_values import (
    IDENTIFIER,
    INSERT_PREFIX,
    StrideSampler,
    parse_row,
)
from backproof.sources.rows import row_digest, row_key

_IDENTIFIER = IDENTIFIER
_INSERT_PREFIX = INSERT_PREFIX
_CREATE_TABLE = re.compile(rb"^CREATE TABLE " + _IDENTIFIER + rb" \(")
LOCK_TABLE = re.compile(rb"^LOCK TABLES " + _IDENTIFIER + rb" WRITE;\Z")
_COLUMN = re.compile(_IDENTIFIER)
_STRING = re.compile(rb"'[^'\\]*(?:\\.[^'\\]*)*'")
# Finds every row that starts a line. re.findall is about twice as fast as bytes.count for this
# two-byte needle (CPython 3.11: 0.4 s against 0.8 s per GB).
_ROW_START = re.compile(rb"\n\(")
COMPLETED_LINE = b"-- Dump completed"
_PRIMARY_KEY = b"  PRIMARY KEY ("


@dataclass(frozen=True)
class KeyTable:
    """What the scanner needs to sample a key table."""

    name: str
    key_columns: list[str]  # the primary key; empty: rows are named by their checksum
    columns: list[str]  # the stored (not generated) columns, in table order
    binary_columns: frozenset[str] = frozenset()


class DumpScanner:
    """Counts the rows of every table in a dump stream and samples the key tables' rows."""

    def __init__(
        self, key_tables: dict[str, KeyTable], sample_rows: int, method: str = DIGEST_METHOD
    ) -> None:
        self.tables: dict[str, int] = {}
        self.digests = DumpDigests(method)
        self.primary_keys: set[str] = set()  # the tables whose CREATE TABLE has a primary key
        self._creating: str | None = None  # inside the CREATE TABLE statement of this table
        self.completed = False
        self._key_tables = key_tables
        # A kept row is read into values only if it is still kept at the end (most are
        # thinned out as the stride doubles): its text and the columns of its statement.
        self._samplers: dict[str, StrideSampler[tuple[bytes, list[str]]]] = {
            name: StrideSampler(sample_rows) for name in key_tables
        }
        self._pending = b""
        self._table: str | None = None  # inside the data section of this table
        self._columns: list[str] = []  # the columns of the INSERT statement being read
        self._in_delimited_block = False
        self._open_name = b""  # a LOCK/CREATE TABLE line whose quoted name holds a newline

    def feed(self, chunk: bytes) -> None:
        """Read the complete lines of ``pending + chunk``; keep the incomplete last line.

        The line the previous chunk left incomplete is joined and read on its own, and the
        rest is read in place: joining the whole chunk would copy every byte of the dump once
        more (about 0.4 s per GB).
        """
        start = 0
        if self._pending:
            newline = chunk.find(b"\n")
            if newline < 0:
                self._pending += chunk
                return
            start = newline + 1
            line = self._pending + chunk[:start]
            self._pending = b""
            self._read(line, len(line))
        end = max(start, chunk.rfind(b"\n") + 1)
        self._read(chunk, end, start)
        self._pending = chunk[end:]

    def _read(self, data: bytes, end: int, position: int = 0) -> None:
        """Read the complete lines of ``data[position:end]``."""
        while position < end:
            if self._table is None:
                newline = data.index(b"\n", position, end)
                self._read_line(data[position:newline])
                position = newline + 1
            else:
                position = self._read_data(data, position, end)

    def finish(self) -> None:
        """Read what is left; raise SourceError when the dump ended in the middle."""
        if self._pending:
            self.feed(b"\n")
        if self._table is not None or not self.completed:
            raise SourceError("the dump ended before its last line: it is truncated")

    def samples(self) -> dict[str, SampledRows]:
        """Return the sampled rows of each key table found in the dump."""
        return {
            name: SampledRows(
                key_columns=self._key_tables[name].key_columns,
                rows=dict(
                    self._describe(name, row, columns)
                    for row, columns in self._samplers[name].result()
                ),
            )
            for name in self._key_tables
            if name in self.tables
        }

    def _read_line(self, line: bytes) -> None:
        if self._open_name:
            line, self._open_name = self._open_name + b"\n" + line, b""
        if has_open_name(line):
            self._open_name = line
        elif line.startswith(b"DELIMITER "):
            self._in_delimited_block = line.strip() != b"DELIMITER ;"
        elif self._in_delimited_block:
            return
        elif self._creating is not None:
            if line.startswith(_PRIMARY_KEY):
                self.primary_keys.add(self._creating)
            elif line.startswith(b")"):
                self._creating = None
        elif line.startswith(COMPLETED_LINE):
            self.completed = True
        elif match := _CREATE_TABLE.match(line):
            self._creating = _identifier(match.group(1))
            self.tables.setdefault(self._creating, 0)
        elif match := LOCK_TABLE.match(line):
            self._table = _identifier(match.group(1))
            self._columns = []
            self.tables.setdefault(self._table, 0)

    def _read_data(self, data: bytes, position: int, end: int) -> int:
        """Count, digest and sample the rows of the data section from ``position``; return
        where reading stops."""
        table = self._table
        assert table is not None  # noqa: S101 - only called inside a data section
        if self.digests.is_ordered(table, table in self.primary_keys):
            return self._read_ordered(table, data, position, end)
        stop = find_line(data, END_OF_DATA, position, end)
        region_end = end if stop < 0 else stop
        region = data[position:region_end]
        rows, is_known = read_rows(region)
        self.digests.add(table, rows)
        if table in self._key_tables:
            self._sample(table, region, len(rows), rows)
        # Rows read from lines of an unknown shape are counted apart, so that a digest is
        # recorded only where both agree (DumpDigests.result).
        self.tables[table] += len(rows) if is_known else count_rows(region)
        return self._end_of_data(stop, end)

    def _read_ordered(self, table: str, data: bytes, position: int, end: int) -> int:
        """Read the data section of a table hashed in key order, the section's end found by
        the same pass (``OrderedDigest.add_section``); return where reading stops."""
        before = self.digests.rows(table)
        stop, is_known = self.digests.add_section(table, data, position, end)
        region_end = end if stop < 0 else stop
        rows_read = self.digests.rows(table) - before
        if table in self._key_tables:
            lines = self.digests.row_lines(table, data, region_end, rows_read)
            region = data[position:region_end]
            if lines is not None and is_known:
                self._sample(table, region, rows_read, lines)
            else:
                rows, is_known = read_rows(region)
                self._sample(table, region, len(rows), rows)
        counted = rows_read if is_known else count_rows(data, position, region_end)
        self.tables[table] += counted
        return self._end_of_data(stop, end)

    def _end_of_data(self, stop: int, end: int) -> int:
        """Return where reading goes on: after the ``UNLOCK TABLES`` line at ``stop``, leaving
        the data section, or at ``end`` (-1: the section goes on)."""
        if stop < 0:
            return end
        self._table = None
        return stop + len(END_OF_DATA)

    def _sample(self, table: str, region: bytes, count: int, rows: list[bytes] | RowLines) -> None:
        """Keep the wanted ones of the ``count`` rows of a key table in ``region`` (``rows``:
        read apart, or found by index)."""
        sampler = self._samplers[table]
        first = self.tables[table]
        if count and not self._columns:
            self._note_columns(table, region)
        wanted = -(-first // sampler.stride) * sampler.stride
        while wanted < first + count:
            sampler.keep(wanted, (rows[wanted - first], self._columns))
            wanted += sampler.stride - wanted % sampler.stride

    def _note_columns(self, table: str, region: bytes) -> None:
        """Remember the column list of the region's first INSERT statement, if it has one."""
        insert = find_line(region, b"INSERT INTO ", 0, len(region))
        prefix = _INSERT_PREFIX.match(region, insert) if insert >= 0 else None
        if prefix is not None:
            self._columns = _columns_of(prefix) or self._key_tables[table].columns

    def _describe(self, table: str, row: bytes, listed: list[str]) -> tuple[str, str]:
        key_table = self._key_tables[table]
        columns = listed or key_table.columns
        values = parse_row(row, [column in key_table.binary_columns for column in columns])
        if values is None:
            raise SourceError(f"cannot read a row of table {table} in the dump: {row[:80]!r}")
        by_name = dict(zip(columns, values, strict=True))
        stored = [by_name.get(column) for column in key_table.columns]
        digest = row_digest(key_table.columns, stored)
        if not key_table.key_columns:
            return digest, digest
        return row_key([by_name.get(column) for column in key_table.key_columns]), digest


def count_rows(data: bytes, start: int = 0, end: int | None = None) -> int:
    """Return the number of rows in the complete lines of a data section ``data[start:end]``.

    Rows after the first of a statement start a line with ``(``; the first shares its line with
    ``INSERT INTO``, and so may others when a tool writes a whole statement on one line.
    """
    end = len(data) if end is None else end
    rows = len(_ROW_START.findall(data, start, end))
    if start == 0 or data[start - 1] == 0x0A:
        rows += data.startswith(b"(", start)
    insert = data.find(b"INSERT INTO ", start, end)
    while insert >= 0:
        line_end = data.find(b"\n", insert, end)
        line_end = end if line_end < 0 else line_end
        if insert == 0 or data[insert - 1] == 0x0A:
            rows += _count_rows_on_insert_line(data, insert, line_end)
        insert = data.find(b"INSERT INTO ", line_end, end)
    return rows


def _count_rows_on_insert_line(data: bytes, start: int, end: int) -> int:
    """Count the rows on the ``INSERT INTO … VALUES`` line ``data[start:end]``: none when they
    start on the next line, one when more follow, else all the rows of a one-line statement
    (counted outside their string literals)."""
    if data.endswith(b"VALUES", start, end):
        return 0
    if data.endswith(b"),", start, end):
        return 1
    line = data[start:end]
    prefix = _INSERT_PREFIX.match(line)
    values = line[prefix.end() :] if prefix else line
    return _STRING.sub(b"", values).count(b"),(") + 1


def _columns_of(prefix: re.Match[bytes]) -> list[str]:
    listed = prefix.group("columns")
    return [_identifier(name) for name in _COLUMN.findall(listed)] if listed else []


def _identifier(quoted: bytes) -> str:
    return quoted.replace(b"``", b"`").decode("utf-8", errors="surrogateescape")


def has_open_name(line: bytes) -> bool:
    """Return True for a ``LOCK TABLES``/``CREATE TABLE`` line that ends inside the table's
    quoted name: mariadb-dump writes a newline in a name as it is, so the name goes on."""
    return line.startswith((b"LOCK TABLES `", b"CREATE TABLE `")) and line.count(b"`") % 2 == 1


def find_line(data: bytes, line: bytes, start: int, end: int) -> int:
    """Return where ``line`` starts a line in ``data[start:end]``, or -1."""
    if data.startswith(line, start) and (start == 0 or data[start - 1] == 0x0A):
        return start
    found = find_bytes(data, b"\n" + line, start, end)
    return found + 1 if found >= 0 else -1
