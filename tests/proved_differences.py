"""What a verify finds in a restored copy, for tests that restore through a source directly."""

from __future__ import annotations

import contextlib
import io

from backproof.archive.manifest import Facts
from backproof.comparison import compare_database_facts
from backproof.jobs.row_order import settle_row_order
from backproof.sources.base import DatabaseSource


def proved_differences(restored: DatabaseSource, expected: Facts, dump: bytes) -> list[str]:
    """Return the differences a verify finds between ``expected`` (the facts of ``dump``) and
    the ``restored`` copy: its facts, each table whose ordered digests differ settled without
    order as the verify does (the test CRM's companies comes back in another order on
    PostgreSQL), compared."""
    actual = restored.inspect(expected)
    compared, actual, _settled = settle_row_order(
        restored, expected, actual, lambda: contextlib.nullcontext(io.BytesIO(dump))
    )
    return compare_database_facts(compared, actual)
