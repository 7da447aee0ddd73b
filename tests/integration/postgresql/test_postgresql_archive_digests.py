"""The digests read from a pg_dump custom archive: exactly the rows of each table, whatever
the chunks the stream arrives in, however many tables a chunk holds, whatever the row lengths."""

from __future__ import annotations

import subprocess

import pytest
import xxhash
from pg_servers import PgServer

from backproof.archive.manifest import TableDigest
from backproof.sources.postgresql_archive import (
    METHOD_BITS,
    METHODS,
    ORDERED_METHOD,
    ArchiveDigester,
)
from backproof.sources.table_digests import digest_rows

# Rows whose chunk length holds a newline byte (10 and 2560 + x bytes with the newline): the
# header then looks like the end of a line; rows of 5 bytes, as long as pg_dump's closing
# "\\." line (one starting with a backslash too); tiny tables put many block ends in one chunk.
ROW_LENGTHS = (1, 4, 9, 10, 255, 2569, 2600, 5000)
TINY_TABLES = 40


def create_tables(pg: PgServer, database: str) -> None:
    """Fill ``database`` with one table of awkward row lengths and many tiny tables."""
    with pg.connect(database) as connection:
        connection.execute("CREATE TABLE lengths (line text)")
        for length in ROW_LENGTHS:
            connection.execute("INSERT INTO lengths VALUES (repeat('x', %s))", (length,))
        connection.execute(
            "INSERT INTO lengths VALUES (NULL), ('tab\tand\nnewline'), (''), ('\\.'), ('.'), "
            "('\\.x')"
        )
        for number in range(TINY_TABLES):
            connection.execute(f"CREATE TABLE tiny_{number} (id int)")
            connection.execute(f"INSERT INTO tiny_{number} SELECT generate_series(1, {number})")
        connection.execute("CREATE TABLE no_rows (id int)")


def ordered_digest(lines: list[bytes]) -> TableDigest:
    """Return the ordered digest of a table's COPY lines (each with its newline), as the
    method defines it: xxh3-128 of every row's chunk (a zero sign byte, its length in four
    little-endian bytes, the line) in order, then pg_dump's closing ``\\.`` chunk."""
    chunks = [b"\x00" + len(line).to_bytes(4, "little") + line for line in lines]
    closing = b"\\.\n\n\n"
    chunks.append(b"\x00" + len(closing).to_bytes(4, "little") + closing)
    return TableDigest(rows=len(lines), digest=xxhash.xxh3_128(b"".join(chunks)).hexdigest())


def copied_digests(pg: PgServer, database: str, method: str) -> dict[str, TableDigest]:
    """Return each table's digest, by ``method``, from the lines of its ``COPY … TO STDOUT``
    (in the order pg_dump reads them: physical, no synchronized scan)."""
    digests = {}
    with pg.connect(database) as connection:
        connection.execute("SET synchronize_seqscans = off")
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in tables:
            with connection.cursor().copy(f"COPY {table} TO STDOUT") as copy:
                text = b"".join(bytes(block) for block in copy)
            lines = text.split(b"\n")[:-1]
            if method == ORDERED_METHOD:
                digests[str(table)] = ordered_digest([line + b"\n" for line in lines])
            else:
                digests[str(table)] = digest_rows(lines, METHOD_BITS[method])
    return digests


def archive_digests(archive: bytes, chunk_bytes: int, method: str) -> dict[str, TableDigest]:
    """Return the digests the archive reader finds, fed ``chunk_bytes`` at a time."""
    digester = ArchiveDigester(method)
    for start in range(0, len(archive), chunk_bytes):
        digester.feed(archive[start : start + chunk_bytes])
    return digester.finish()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("chunk_bytes", [97, 4096, 1 << 20])
def test_archive_digests_are_those_of_the_copied_rows_for_any_chunking(
    pg: PgServer, chunk_bytes: int, method: str
) -> None:
    database = pg.create_database(crm=False)
    create_tables(pg, database)
    dump = ["pg_dump", "--format=custom", "--compress=0", f"--dbname={pg.url(database)}"]
    archive = subprocess.run(dump, stdout=subprocess.PIPE, check=True).stdout

    found = archive_digests(archive, chunk_bytes, method)

    assert found == copied_digests(pg, database, method)
    assert found["lengths"].rows == len(ROW_LENGTHS) + 6
    assert found["tiny_7"].rows == 7
    assert found["no_rows"].rows == 0


@pytest.mark.parametrize("chunk_bytes", [1, 6, 11])
def test_only_the_tables_asked_for_are_digested(pg: PgServer, chunk_bytes: int) -> None:
    database = pg.create_database(crm=False)
    create_tables(pg, database)
    dump = ["pg_dump", "--format=custom", "--compress=0", f"--dbname={pg.url(database)}"]
    archive = subprocess.run(dump, stdout=subprocess.PIPE, check=True).stdout
    digester = ArchiveDigester(ORDERED_METHOD, frozenset({"lengths", "tiny_3"}))

    for start in range(0, len(archive), chunk_bytes):
        digester.feed(archive[start : start + chunk_bytes])

    everything = copied_digests(pg, database, ORDERED_METHOD)
    assert digester.finish() == {"lengths": everything["lengths"], "tiny_3": everything["tiny_3"]}
