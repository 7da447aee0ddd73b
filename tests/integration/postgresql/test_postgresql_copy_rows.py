"""The C row reader and the pure-Python one read real pg_dump archives alike: the same digests
and row counts whatever the chunks the stream arrives in, wherever a chunk cuts a row or a
header, with 8-byte integers, and the same error for an archive that is cut or corrupt."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pg_servers import PgServer, shared_server

from backproof.archive.manifest import TableDigest
from backproof.sources.copy_rows import NATIVE_READER, PYTHON_READER, RowReader
from backproof.sources.postgresql_archive import (
    METHOD_BITS,
    ArchiveDigester,
    ArchiveFormatError,
    read_table_of_contents,
)

METHODS = sorted(METHOD_BITS)
LONG_ROW_BYTES = 2 * 1024 * 1024  # a row of 512 chunks of 4 KiB


def native_reader() -> RowReader:
    """Return the C reader; fail when it is not built (CI must never measure the slow path)."""
    if NATIVE_READER is None:
        pytest.fail("backproof._native.copy_rows is not built: install with a C compiler")
    return NATIVE_READER


@pytest.fixture(scope="module")
def archive() -> Iterator[bytes]:
    """Return a custom archive of the CRM (large objects included) with many tiny rows, awkward
    row lengths and empty tables (dumped once for the module)."""
    pg = shared_server()
    try:
        yield dump_test_database(pg)
    finally:
        pg.clean_up()


def dump_test_database(pg: PgServer) -> bytes:
    """Create the database of ``archive`` and return its archive."""
    database = pg.create_database(big_rows=300)
    with pg.connect(database) as connection:
        connection.execute("CREATE TABLE tiny_rows (id int)")
        connection.execute("INSERT INTO tiny_rows SELECT generate_series(1, 3000) % 10")
        connection.execute("CREATE TABLE lengths (line text)")
        for length in (1, 9, 10, 255, 2569, 2600, 5000):
            connection.execute("INSERT INTO lengths VALUES (repeat('x', %s))", (length,))
        connection.execute("INSERT INTO lengths VALUES (NULL), ('tab\tand\nnewline'), ('\\.')")
        for number in range(3):
            connection.execute(f"CREATE TABLE no_rows_{number} (id int)")
        connection.execute("CREATE TABLE long_row (id int, line text)")
        connection.execute(f"INSERT INTO long_row VALUES (1, repeat('y', {LONG_ROW_BYTES}))")
    dump = ["pg_dump", "--format=custom", "--compress=0", f"--dbname={pg.url(database)}"]
    return subprocess.run(dump, stdout=subprocess.PIPE, check=True).stdout


def digests(
    reader: RowReader, pieces: list[bytes], method: str
) -> dict[str, TableDigest] | ArchiveFormatError:
    """Return what the digester finds in ``pieces`` fed in turn: digests, or its error."""
    digester = ArchiveDigester(method, reader)
    try:
        for piece in pieces:
            digester.feed(piece)
        return digester.finish()
    except ArchiveFormatError as exc:
        return exc


@dataclass
class CountingReader:
    """A row reader that counts the bytes it is handed to search (from ``start`` on)."""

    inner: RowReader
    searched: int = 0

    def rows_within(
        self, buffer: bytes, start: int, int_size: int, bits: int, at_block_start: bool, /
    ) -> tuple[int, int, int] | None:
        self.searched += len(buffer) - start
        return self.inner.rows_within(buffer, start, int_size, bits, at_block_start)

    def rows_to_end(
        self, buffer: bytes, start: int, int_size: int, bits: int, at_block_start: bool, /
    ) -> tuple[bool, int, int, int]:
        self.searched += len(buffer) - start
        return self.inner.rows_to_end(buffer, start, int_size, bits, at_block_start)


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def same_outcome(left: object, right: object) -> bool:
    """Return whether two outcomes of ``digests`` are the same digests or the same error."""
    if isinstance(left, ArchiveFormatError) and isinstance(right, ArchiveFormatError):
        return type(left) is type(right) and str(left) == str(right)
    return left == right


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("chunk_bytes", [97, 4096, 1 << 20])
def test_readers_give_the_same_digests_of_a_real_dump_for_any_chunking(
    archive: bytes, method: str, chunk_bytes: int
) -> None:
    pieces = chunked(archive, chunk_bytes)

    found = digests(native_reader(), pieces, method)

    assert found == digests(PYTHON_READER, pieces, method)
    assert isinstance(found, dict)
    assert found["tiny_rows"].rows == 3000
    assert found["lengths"].rows == 10
    assert found["no_rows_0"].rows == 0
    assert found["long_row"].rows == 1


@pytest.mark.parametrize("reader", ["native", "python"])
def test_a_row_of_many_chunks_is_searched_once_not_again_at_every_chunk(
    archive: bytes, reader: str
) -> None:
    counting = CountingReader(native_reader() if reader == "native" else PYTHON_READER)

    found = digests(counting, chunked(archive, 4096), METHODS[0])

    assert found == digests(counting.inner, [archive], METHODS[0])
    # Searched again at every chunk, the 2 MiB row alone would be about 512 * 1 MiB.
    assert counting.searched < 2 * len(archive)


def test_readers_agree_when_the_stream_is_cut_at_every_offset_around_a_chunk_header(
    archive: bytes,
) -> None:
    data_start = read_table_of_contents(archive).end
    headers = [at for at in range(data_start, len(archive) - 1) if archive[at : at + 2] == b"\n\0"]
    reader, method = native_reader(), METHODS[0]
    whole = digests(reader, [archive], method)
    assert whole == digests(PYTHON_READER, [archive], method)
    sample = random.Random(7).sample(headers, 24)  # noqa: S311 - a fixed sample, no secret
    chosen = headers[:8] + sample + headers[-8:]
    for header in chosen:
        for cut in range(header - 2, header + 8):
            pieces = [archive[:cut], archive[cut:]]
            assert digests(reader, pieces, method) == whole, cut
            assert digests(PYTHON_READER, pieces, method) == whole, cut


@pytest.mark.parametrize("method", METHODS)
def test_readers_read_an_archive_with_8_byte_integers_as_one_with_4(
    archive: bytes, method: str
) -> None:
    wide = widened(archive)
    assert wide[8] == 8  # the int_size byte

    found = digests(native_reader(), chunked(wide, 4096), method)

    assert found == digests(PYTHON_READER, chunked(wide, 4096), method)
    assert found == digests(PYTHON_READER, [archive], method)


def test_readers_fail_alike_on_a_cut_or_corrupt_archive(archive: bytes) -> None:
    data_start = read_table_of_contents(archive).end
    shuffle = random.Random(11)  # noqa: S311 - a fixed sample, no secret
    broken = [archive[:cut] for cut in shuffle.sample(range(data_start, len(archive)), 30)]
    for at in shuffle.sample(range(data_start, len(archive)), 40):
        for byte in (0, 10, 0xFF):
            broken.append(archive[:at] + bytes([byte]) + archive[at + 1 :])
    failures = 0
    for corrupt in broken:
        found = digests(native_reader(), chunked(corrupt, 1 << 16), METHODS[0])
        assert same_outcome(found, digests(PYTHON_READER, chunked(corrupt, 1 << 16), METHODS[0]))
        failures += isinstance(found, ArchiveFormatError)
    assert failures >= 30  # every cut archive at least


@dataclass
class _Widener:
    """Copies a custom archive with every integer written in 8 bytes instead of 4."""

    data: bytes
    position: int = 0
    out: bytearray | None = None

    def copy(self, count: int) -> bytes:
        piece = self.data[self.position : self.position + count]
        self.position += count
        assert self.out is not None
        self.out += piece
        return piece

    def integer(self) -> int:
        sign = self.data[self.position]
        value = int.from_bytes(self.data[self.position + 1 : self.position + 5], "little")
        self.position += 5
        assert self.out is not None
        self.out += bytes([sign]) + value.to_bytes(8, "little")
        return -value if sign else value

    def string(self) -> bool:
        length = self.integer()
        if length > 0:
            self.copy(length)
        return length >= 0


def widened(archive: bytes) -> bytes:
    """Return ``archive`` (int_size 4, written to a pipe: no data offsets) with int_size 8."""
    widener = _Widener(archive, out=bytearray())
    version = tuple(widener.copy(8)[5:8])
    assert widener.data[widener.position] == 4
    widener.position += 1
    assert widener.out is not None
    widener.out.append(8)
    offset_size = widener.copy(2)[0]
    widener.copy(1) if version >= (1, 15, 0) else widener.integer()  # compression
    for _field in range(7):
        widener.integer()
    for _field in range(3):
        widener.string()
    for _entry in range(widener.integer()):
        widen_entry(widener, version, offset_size)
    while widener.position < len(archive):
        large_objects = widener.copy(1)[0] == 3
        widener.integer()  # dump id
        while not large_objects or widener.integer() != 0:  # the next large object's oid
            while (length := widener.integer()) != 0:
                widener.copy(length)
            if not large_objects:
                break
    return bytes(widener.out)


def widen_entry(widener: _Widener, version: tuple[int, ...], offset_size: int) -> None:
    """Copy one entry of the table of contents (the fields ``_read_entry`` reads)."""
    widener.integer(), widener.integer()  # dump id, had dumper
    for _field in range(4):  # table oid, oid, tag, description
        widener.string()
    widener.integer()  # section
    for _field in range(6):  # definition, drop, copy, namespace, tablespace, access method
        widener.string()
    if version >= (1, 16, 0):
        widener.integer()  # relkind
    widener.string(), widener.string()  # owner, with oids
    while widener.string():  # dependencies
        pass
    widener.copy(1 + offset_size)
