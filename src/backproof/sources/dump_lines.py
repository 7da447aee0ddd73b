"""The lines of a MariaDB/MySQL dump's data section, counted and searched: in C when the
extension ``backproof._native.dump_lines`` is built, else by the same Python calls.

The dump scanner hashes a table's rows where they lie and counts them by their newlines (a
value never holds a raw newline), and finds where each ``INSERT`` statement ends: a ``;`` ending
a line before the next statement's ``INSERT INTO`` or the section's ``UNLOCK TABLES;``. Both
touch every byte of the data: ``bytes.count`` compares a byte at a time and the regular
expression steps through every byte for a ``;``; the C twins count with a vectorized loop and
find each ``;`` with memchr. Same results for any arguments (``tests/unit/sources/
test_dump_lines.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_STATEMENT_END = re.compile(rb";\n(?=INSERT INTO |UNLOCK TABLES;\n)")


def python_count_newlines(data: bytes, start: int, end: int) -> int:
    """Return the newlines in ``data[start:end]``."""
    return data.count(b"\n", start, end)


def python_find_statement_end(data: bytes, start: int, end: int) -> int:
    """Return where the first ``;\\n`` followed by ``INSERT INTO `` or ``UNLOCK TABLES;\\n``
    starts in ``data[start:end]``; -1 when there is none."""
    found = _STATEMENT_END.search(data, start, end)
    return -1 if found is None else found.start()


def _native() -> tuple[Callable[[bytes, int, int], int], Callable[[bytes, int, int], int]] | None:
    try:
        from backproof._native import dump_lines  # noqa: PLC0415 - optional: may not be built
    except ImportError:  # installed without a C compiler: the Python calls run
        return None
    return dump_lines.count_newlines, dump_lines.find_statement_end


NATIVE_LINES = _native()
count_newlines, find_statement_end = NATIVE_LINES or (
    python_count_newlines,
    python_find_statement_end,
)
