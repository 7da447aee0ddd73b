"""Order-independent digests of a table's rows, the same code before dump and after restore.

A table's digest is the sum of a hash of each row's canonical bytes, modulo 2**bits, with the
row count beside it. A sum does not depend on the order of the rows (a dump does not promise
one) and, unlike an exclusive or, counts a row that appears twice twice. The canonical bytes of
a row are what one tool prints for it on both sides: a line of PostgreSQL's COPY text, the
``(…)`` tuple of a MariaDB dump, the ``repr`` of a SQLite row (see ``docs/verification.md``).

Two widths, each named by the engine's ``digest_method``: 128 bits (xxh3-128, the first
methods) and 64 bits (xxh3-64, a cheaper hash whose values and sums are smaller Python ints:
about half the CPU of the hashing and summing; a changed row goes unnoticed with a chance of
2**-64). xxh3 is a C hash at about 100 ns a row; it guards against
accidents, not against an attacker (the manifest's signature does that). A digest made with
one width is only ever compared with one made with the same width: the verify side computes
the method the manifest names.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

import xxhash

from backproof.archive.manifest import TableDigest
from backproof.errors import SourceError

_HASHES: dict[int, Callable[[bytes], int]] = {
    128: xxhash.xxh3_128_intdigest,
    64: xxhash.xxh3_64_intdigest,
}


@dataclass
class RowDigest:
    """The running digest of one table: its row count and the sum of its rows' hashes, each
    ``bits`` wide (128 or 64)."""

    rows: int = 0
    total: int = 0
    bits: int = 128

    def add(self, rows: Iterable[bytes]) -> None:
        """Add the canonical bytes of some rows (a list is fastest: hashed and summed in C,
        without a list of the hashes)."""
        listed = rows if isinstance(rows, list) else list(rows)
        self.add_sum(len(listed), sum_row_hashes(listed, self.bits))

    def add_sum(self, rows: int, total: int) -> None:
        """Add ``rows`` rows whose hashes, ``bits`` wide, sum to ``total``."""
        self.rows += rows
        self.total = (self.total + total) % (1 << self.bits)

    def result(self) -> TableDigest:
        """Return the digest as the manifest records it (``bits / 4`` hex digits)."""
        return TableDigest(rows=self.rows, digest=f"{self.total:0{self.bits // 4}x}")


def sum_row_hashes(rows: list[bytes], bits: int) -> int:
    """Return the sum of the hashes, ``bits`` wide, of the canonical bytes ``rows``, modulo
    2**bits."""
    return sum(map(_HASHES[bits], rows)) % (1 << bits)


def digest_rows(rows: Iterable[bytes], bits: int = 128) -> TableDigest:
    """Return the digest of one table's rows."""
    digest = RowDigest(bits=bits)
    digest.add(rows)
    return digest.result()


def require_known_method(method: str, known: Collection[str]) -> None:
    """Raise SourceError, in one line saying what to do, when ``method`` (the one a manifest
    names) is not one this version computes (a newer backproof's)."""
    if method not in known:
        raise SourceError(
            f"the table digests were made with {method!r}, which this version of backproof "
            "cannot compute: upgrade it, or set content_digests = false for the target"
        )
