"""The lines of a MariaDB/MySQL dump's data section, counted and searched: in C when the
extension ``backproof._native.dump_lines`` is built, else by the same Python calls.

The dump scanner hashes a table's rows where they lie and counts them by their newlines (a
value never holds a raw newline), and finds where each ``INSERT`` statement ends: a ``;`` ending
a line before the next statement's ``INSERT INTO`` or the section's ``UNLOCK TABLES;``. Both
touch every byte of the data: ``bytes.count`` compares a byte at a time and the regular
expression steps through every byte for a ``;``; the C twins count with a vectorized loop and
find each ``;`` with memchr. Same results for any arguments (``tests/unit/sources/
test_dump_lines.py``).

A restore touches every byte of the data sections too: the statement guard finds each section's
``UNLOCK TABLES;`` line and checks its rows (``mysql_guard.ROWS``, whose C twin is
``NATIVE_MATCH_ROWS``), and the parallel import cuts the rows at each ``;\n``; ``find_bytes``
is ``bytes.find`` by memmem.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType

_STATEMENT_END = re.compile(rb";\n(?=INSERT INTO |UNLOCK TABLES;\n)")


def python_count_newlines(data: bytes, start: int, end: int) -> int:
    """Return the newlines in ``data[start:end]``."""
    return data.count(b"\n", start, end)


def python_find_statement_end(data: bytes, start: int, end: int) -> int:
    """Return where the first ``;\\n`` followed by ``INSERT INTO `` or ``UNLOCK TABLES;\\n``
    starts in ``data[start:end]``; -1 when there is none."""
    found = _STATEMENT_END.search(data, start, end)
    return -1 if found is None else found.start()


def python_find_bytes(data: bytes, needle: bytes, start: int, end: int) -> int:
    """Return where ``needle`` first starts in ``data[start:end]``; -1 when nowhere."""
    return data.find(needle, start, end)


def _native() -> ModuleType | None:
    try:
        from backproof._native import dump_lines  # noqa: PLC0415 - optional: may not be built
    except ImportError:  # installed without a C compiler: the Python calls run
        return None
    return dump_lines


_NATIVE = _native()
NATIVE_LINES: tuple[Callable[[bytes, int, int], int], Callable[[bytes, int, int], int]] | None = (
    (_NATIVE.count_newlines, _NATIVE.find_statement_end) if _NATIVE is not None else None
)
# ``bytes.find`` of a needle of several bytes (``;\n``, ``\nUNLOCK TABLES;\n``) steps through
# the data at about 1 GB/s; memmem many times faster.
NATIVE_FIND_BYTES: Callable[[bytes, bytes, int, int], int] | None = (
    _NATIVE.find_bytes if _NATIVE is not None else None
)
find_bytes = NATIVE_FIND_BYTES or python_find_bytes
# The statement guard's check of a data section's rows in C (``mysql_guard.match_rows``).
NATIVE_MATCH_ROWS: Callable[[bytes], int] | None = (
    _NATIVE.match_rows if _NATIVE is not None else None
)
count_newlines, find_statement_end = NATIVE_LINES or (
    python_count_newlines,
    python_find_statement_end,
)
