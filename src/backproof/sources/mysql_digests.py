"""MySQL/MariaDB table digests, from the rows of a dump stream.

The canonical bytes of a row are its ``(…)`` tuple exactly as the dump tool prints it, without
the ``,`` or ``;`` that follows: the server renders every value (numbers, dates in UTC with
``--tz-utc``, binary as hex with ``--hex-blob``, strings escaped by the client library), so the
same values print the same tuple. Verify dumps the restored copy with the same tool and the
same options and reads it with the same scanner: canonical by construction.

In a data section a row after the first of an ``INSERT`` starts its own line; the first shares
the line of ``INSERT INTO … VALUES``, and older tools write a whole statement on one line.
"""

from __future__ import annotations

from backproof.archive.manifest import TableDigest
from backproof.sources.mysql_values import INSERT_PREFIX, split_rows
from backproof.sources.table_digests import RowDigest

DIGEST_METHOD = "mysql-dump-tuple-xxh3-128-sum"
_ROW_ENDS = (b"),", b");")


def row_texts(region: bytes) -> list[bytes]:
    """Return the tuple of every row in the complete lines of a data section."""
    lines = region.split(b"\n")
    rows = [line[:-1] for line in lines if line[:1] == b"("]
    for line in lines:
        if line.startswith(b"INSERT INTO ") and line.endswith(_ROW_ENDS):
            prefix = INSERT_PREFIX.match(line)
            if line.endswith(b"),") and prefix is not None:
                rows.append(line[prefix.end() : -1])
            else:
                rows.extend(split_rows(line, prefix))
    return rows


class DumpDigests:
    """The digest of every table of one dump stream, fed one data section region at a time."""

    def __init__(self) -> None:
        self._tables: dict[str, RowDigest] = {}

    def add(self, table: str, region: bytes) -> None:
        """Digest the rows in the complete lines ``region`` of ``table``'s data section."""
        self._tables.setdefault(table, RowDigest()).add(row_texts(region))

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
