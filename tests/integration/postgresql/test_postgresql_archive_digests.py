"""The digests read from a pg_dump custom archive: exactly the rows of each table, whatever
the chunks the stream arrives in, however many tables a chunk holds, whatever the row lengths."""

from __future__ import annotations

import subprocess

import pytest
from pg_servers import PgServer

from backproof.archive.manifest import TableDigest
from backproof.sources.postgresql_archive import METHOD_BITS, ArchiveDigester
from backproof.sources.table_digests import digest_rows

# Rows whose chunk length holds a newline byte (10 and 2560 + x bytes with the newline): the
# header then looks like the end of a line; tiny tables put many block ends in one chunk.
ROW_LENGTHS = (1, 9, 10, 255, 2569, 2600, 5000)
TINY_TABLES = 40


def create_tables(pg: PgServer, database: str) -> None:
    """Fill ``database`` with one table of awkward row lengths and many tiny tables."""
    with pg.connect(database) as connection:
        connection.execute("CREATE TABLE lengths (line text)")
        for length in ROW_LENGTHS:
            connection.execute("INSERT INTO lengths VALUES (repeat('x', %s))", (length,))
        connection.execute("INSERT INTO lengths VALUES (NULL), ('tab\tand\nnewline'), ('')")
        for number in range(TINY_TABLES):
            connection.execute(f"CREATE TABLE tiny_{number} (id int)")
            connection.execute(f"INSERT INTO tiny_{number} SELECT generate_series(1, {number})")
        connection.execute("CREATE TABLE no_rows (id int)")


def copied_digests(pg: PgServer, database: str, bits: int) -> dict[str, TableDigest]:
    """Return each table's digest from the lines of its ``COPY … TO STDOUT``."""
    digests = {}
    with pg.connect(database) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in tables:
            with connection.cursor().copy(f"COPY {table} TO STDOUT") as copy:
                text = b"".join(bytes(block) for block in copy)
            digests[str(table)] = digest_rows(text.split(b"\n")[:-1], bits)
    return digests


def archive_digests(archive: bytes, chunk_bytes: int, method: str) -> dict[str, TableDigest]:
    """Return the digests the archive reader finds, fed ``chunk_bytes`` at a time."""
    digester = ArchiveDigester(method)
    for start in range(0, len(archive), chunk_bytes):
        digester.feed(archive[start : start + chunk_bytes])
    return digester.finish()


@pytest.mark.parametrize("method", sorted(METHOD_BITS))
@pytest.mark.parametrize("chunk_bytes", [97, 4096, 1 << 20])
def test_archive_digests_are_those_of_the_copied_rows_for_any_chunking(
    pg: PgServer, chunk_bytes: int, method: str
) -> None:
    database = pg.create_database(crm=False)
    create_tables(pg, database)
    dump = ["pg_dump", "--format=custom", "--compress=0", f"--dbname={pg.url(database)}"]
    archive = subprocess.run(dump, stdout=subprocess.PIPE, check=True).stdout

    found = archive_digests(archive, chunk_bytes, method)

    assert found == copied_digests(pg, database, METHOD_BITS[method])
    assert found["lengths"].rows == len(ROW_LENGTHS) + 3
    assert found["tiny_7"].rows == 7
    assert found["no_rows"].rows == 0
