"""MySQL/MariaDB table digests, from the rows of a dump stream.

The canonical bytes of a row are its ``(…)`` tuple exactly as the dump tool prints it, without
the ``,`` or ``;`` that follows: the server renders every value (numbers, dates in UTC with
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

from backproof.archive.manifest import TableDigest
from backproof.sources.mysql_values import INSERT_PREFIX, split_rows
from backproof.sources.table_digests import RowDigest

DIGEST_METHOD = "mysql-dump-tuple-xxh3-128-sum"
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


class DumpDigests:
    """The digest of every table of one dump stream, fed the rows of one region at a time."""

    def __init__(self) -> None:
        self._tables: dict[str, RowDigest] = {}

    def add(self, table: str, rows: list[bytes]) -> None:
        """Digest the tuples ``rows`` of ``table``."""
        self._tables.setdefault(table, RowDigest()).add(rows)

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
