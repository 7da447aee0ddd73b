"""Row digests at both widths: order-independent, a repeated row counted twice, and the sum
the docs describe."""

from __future__ import annotations

import pytest
import xxhash

from backproof.sources.table_digests import RowDigest, digest_rows

ROWS = [b"1\tacme", b"2\tglobex", b"3\tinitech"]


@pytest.mark.parametrize("bits", [128, 64])
def test_the_digest_does_not_depend_on_the_order_of_the_rows(bits: int) -> None:
    assert digest_rows(ROWS, bits) == digest_rows(list(reversed(ROWS)), bits)


@pytest.mark.parametrize("bits", [128, 64])
def test_a_repeated_row_changes_the_digest(bits: int) -> None:
    assert digest_rows([*ROWS, ROWS[0]], bits).digest != digest_rows(ROWS, bits).digest


def test_the_64_bit_digest_is_the_sum_of_the_xxh3_64_hashes_modulo_2_64() -> None:
    expected = sum(xxhash.xxh3_64_intdigest(row) for row in ROWS) % (1 << 64)

    found = digest_rows(ROWS, 64)

    assert found.digest == f"{expected:016x}"
    assert found.rows == len(ROWS)


def test_adding_in_pieces_gives_the_digest_of_all_rows() -> None:
    digest = RowDigest(bits=64)
    digest.add(ROWS[:1])
    digest.add(iter(ROWS[1:]))

    assert digest.result() == digest_rows(ROWS, 64)
    assert len(digest_rows(ROWS).digest) == 32
