"""Order-independent digests of a table's rows, the same code before dump and after restore.

A table's digest is the sum, modulo 2**128, of the 128-bit xxh3 hash of each row's canonical
bytes, with the row count beside it. A sum does not depend on the order of the rows (a dump
does not promise one) and, unlike an exclusive or, counts a row that appears twice twice. The
canonical bytes of a row are what one tool prints for it on both sides: a line of PostgreSQL's
COPY text, the ``(…)`` tuple of a MariaDB dump, the ``repr`` of a SQLite row (see
``docs/verification.md``). xxh3 is a C hash at about 100 ns a row; it guards against accidents,
not against an attacker (the manifest's signature does that).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import xxhash

from backproof.archive.manifest import TableDigest

DIGEST_MODULUS = 1 << 128
_hash = xxhash.xxh3_128_intdigest


@dataclass
class RowDigest:
    """The running digest of one table: its row count and the sum of its rows' hashes."""

    rows: int = 0
    total: int = 0

    def add(self, rows: Iterable[bytes]) -> None:
        """Add the canonical bytes of some rows (a list is fastest: hashed and summed in C,
        without a list of the hashes)."""
        listed = rows if isinstance(rows, list) else list(rows)
        self.rows += len(listed)
        self.total = (self.total + sum(map(_hash, listed))) % DIGEST_MODULUS

    def result(self) -> TableDigest:
        """Return the digest as the manifest records it."""
        return TableDigest(rows=self.rows, digest=f"{self.total:032x}")


def digest_rows(rows: Iterable[bytes]) -> TableDigest:
    """Return the digest of one table's rows."""
    digest = RowDigest()
    digest.add(rows)
    return digest.result()
