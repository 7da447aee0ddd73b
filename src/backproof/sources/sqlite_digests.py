"""SQLite table digests: every row of the snapshot, and of the restored copy, with the same code.

The canonical bytes of a row are the ``repr`` of the tuple the ``sqlite3`` module returns, with
text read as bytes (so text that is not valid UTF-8 is digested too): integers and NULL as
such, reals as the shortest text that reads back to the same double, text and blobs as their
bytes. A text value and a blob with the same bytes digest alike; the schema (checked by the
integrity check) says which a column holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable

from backproof.archive.manifest import TableDigest
from backproof.sources.table_digests import RowDigest

DIGEST_METHOD = "sqlite-row-repr-xxh3-128-sum"
BATCH_ROWS = 10_000


def digest_tables(
    connection: sqlite3.Connection, tables: Iterable[str], quote: Callable[[str], str]
) -> dict[str, TableDigest]:
    """Return the digest of every table in ``tables``; ``quote`` quotes an identifier."""
    previous = connection.text_factory
    connection.text_factory = bytes
    try:
        return {table: _digest_table(connection, quote(table)) for table in tables}
    finally:
        connection.text_factory = previous


def _digest_table(connection: sqlite3.Connection, quoted: str) -> TableDigest:
    cursor = connection.execute(f"SELECT * FROM {quoted}")
    digest = RowDigest()
    while rows := cursor.fetchmany(BATCH_ROWS):
        digest.add([repr(row).encode() for row in rows])
    return digest.result()
