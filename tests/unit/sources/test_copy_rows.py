"""The C row reader of PostgreSQL digests and its pure-Python twin: built, the hashes of xxhash
bit for bit, and the same results on any block of any int_size cut anywhere, and on bytes that
are no block at all."""

from __future__ import annotations

import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from backproof.sources.copy_rows import NATIVE_READER, PYTHON_READER, RowReader

# Rows whose chunk length holds a newline or a NUL byte (10 and 2560 + x bytes with the newline).
AWKWARD_ROWS = (b"", b"x" * 9, b"y" * 255, b"z" * 2569, b"\\.", b"\\.not the end", b"\t\\N\t")
COPY_ROW = st.binary(max_size=300).map(lambda row: row.replace(b"\n", b"n").replace(b"\0", b"0"))
ROWS = st.lists(st.one_of(COPY_ROW, st.sampled_from(AWKWARD_ROWS)), max_size=12)
# Bytes that are no block: mostly what the readers look for.
NOISE = st.binary(max_size=200) | st.lists(
    st.sampled_from([b"\n", b"\0", b"\n\0", b"\\.", b"a", b"\x0a\0\0\0", b"\0\0\0\0"]), max_size=60
).map(b"".join)


def native_reader() -> RowReader:
    """Return the C reader; fail when it is not built (CI must never measure the slow path)."""
    if NATIVE_READER is None:
        pytest.fail(
            "backproof._native.copy_rows (the C row reader of PostgreSQL digests) is not built: "
            "install with a C compiler and Python's headers (`make install`, pip install -e .); "
            "without it every PostgreSQL digest runs the pure-Python reader, several times the CPU"
        )
    return NATIVE_READER


def block(rows: list[bytes], int_size: int, *, end_marker: bool = True) -> bytes:
    """Return a table's data block after its type and dump id: a chunk per line (a zero sign
    byte, ``int_size`` length bytes, the line), then a zero length."""
    lines = [row + b"\n" for row in rows] + ([b"\\.\n"] if end_marker else [])
    chunks = b"".join(b"\0" + len(line).to_bytes(int_size, "little") + line for line in lines)
    return chunks + b"\0" * (1 + int_size)


def results(
    reader: RowReader, buffer: bytes, start: int, int_size: int, bits: int, at_block_start: bool
) -> tuple[object, ...]:
    """Return what both of a reader's functions find in ``buffer[start:]``."""
    return (
        reader.rows_within(buffer, start, int_size, bits, at_block_start),
        reader.rows_to_end(buffer, start, int_size, bits, at_block_start),
    )


def test_the_c_row_reader_is_built() -> None:
    native_reader()


@pytest.mark.parametrize("bits", [64, 128])
def test_c_reader_sums_the_xxh3_hashes_of_the_rows_without_the_end_marker(bits: int) -> None:
    rows = [b"1\tAcme\t\\N", b"", b"z" * 2569]
    hash_row = xxhash.xxh3_64_intdigest if bits == 64 else xxhash.xxh3_128_intdigest

    found = native_reader().rows_to_end(block(rows, 4), 0, 4, bits, True)

    assert found == (True, len(block(rows, 4)), 3, sum(map(hash_row, rows)) % (1 << bits))


@pytest.mark.parametrize("bits", [64, 128])
def test_c_reader_sum_wraps_around_modulo_two_to_the_bits(bits: int) -> None:
    rows = [b"row %d" % number for number in range(2000)]
    hash_row = xxhash.xxh3_64_intdigest if bits == 64 else xxhash.xxh3_128_intdigest
    total = sum(map(hash_row, rows))
    assert total >= 1 << bits  # the sum did wrap

    without_end = block(rows, 4)[:-5]

    found = native_reader().rows_within(without_end, 0, 4, bits, True)

    # Consumed up to the end marker's line, the partial row it holds until the end comes.
    assert found == (len(without_end) - len(b"\\.\n"), len(rows), total % (1 << bits))


@settings(max_examples=300, deadline=None)
@given(
    rows=ROWS,
    int_size=st.sampled_from([4, 8, 2]),
    end_marker=st.booleans(),
    bits=st.sampled_from([64, 128]),
)
def test_readers_agree_on_every_prefix_of_a_block(
    rows: list[bytes], int_size: int, end_marker: bool, bits: int
) -> None:
    whole = b"\x01\0\0\0\x07" + block(rows, int_size, end_marker=end_marker) + b"\x01next"
    reader = native_reader()
    for cut in cuts_around_headers(whole, int_size):
        for at_block_start in (True, False):
            for buffer, start in ((whole[:cut], 0), (whole, cut), (whole[:cut], cut // 2)):
                arguments = (buffer, start, int_size, bits, at_block_start)
                assert results(reader, *arguments) == results(PYTHON_READER, *arguments)


def cuts_around_headers(data: bytes, int_size: int) -> set[int]:
    """Return every offset from just before to just after each chunk header of ``data``."""
    cuts = {0, len(data)}
    at = data.find(b"\n\0")
    while at >= 0:
        cuts.update(range(max(0, at - 2), min(len(data), at + int_size + 4) + 1))
        at = data.find(b"\n\0", at + 1)
    return cuts


@settings(max_examples=500, deadline=None)
@given(
    noise=NOISE,
    start=st.integers(0, 10),
    int_size=st.sampled_from([4, 8, 1]),
    bits=st.sampled_from([64, 128]),
    at_block_start=st.booleans(),
)
def test_readers_agree_on_bytes_that_are_no_block(
    noise: bytes, start: int, int_size: int, bits: int, at_block_start: bool
) -> None:
    arguments = (noise, min(start, len(noise)), int_size, bits, at_block_start)

    assert results(native_reader(), *arguments) == results(PYTHON_READER, *arguments)


@pytest.mark.parametrize(
    ("start", "int_size", "bits"), [(0, 0, 64), (0, 17, 64), (0, 4, 32), (-1, 4, 64), (99, 4, 64)]
)
def test_c_reader_refuses_a_start_int_size_or_width_it_cannot_read(
    start: int, int_size: int, bits: int
) -> None:
    with pytest.raises(ValueError, match="int_size 1 to 16 and bits 64 or 128"):
        native_reader().rows_within(block([b"a"], 4), start, int_size, bits, True)
