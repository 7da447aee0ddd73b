"""The C twins of the dump scanner's newline count and statement-end search, and of bytes.find:
built, and the same results as the Python calls for any bytes and any bounds."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backproof.sources.dump_lines import (
    NATIVE_FIND_BYTES,
    NATIVE_LINES,
    python_count_newlines,
    python_find_statement_end,
)

# Bytes made mostly of what the search looks for, cut anywhere.
PIECES = [
    b";",
    b"\n",
    b";\n",
    b"INSERT INTO ",
    b"UNLOCK TABLES;\n",
    b"INSERT",
    b"UNLOCK",
    b"(1,'a'),",
]
DATA = st.lists(st.sampled_from(PIECES) | st.binary(max_size=40), max_size=40).map(b"".join)
BOUND = st.integers(-50, 2000)
SECTION = (
    b"INSERT INTO `t` (`id`) VALUES (1),\n(2);\nINSERT INTO `t` (`id`) VALUES (3),\n"
    b"(4,'a;\\nINSERT INTO ');\n/*!40000 ALTER TABLE `t` ENABLE KEYS */;\nUNLOCK TABLES;\n"
)


def native_lines() -> tuple[Callable[[bytes, int, int], int], Callable[[bytes, int, int], int]]:
    """Return the C functions; fail when they are not built."""
    if NATIVE_LINES is None:
        pytest.fail(
            "backproof._native.dump_lines (the C line counter of MariaDB digests) is not built: "
            "install with a C compiler and Python's headers (`make install`, pip install -e .)"
        )
    return NATIVE_LINES


def test_the_c_dump_lines_are_built() -> None:
    native_lines()


def test_c_search_finds_the_end_of_each_statement_not_a_semicolon_in_a_value() -> None:
    _count, find = native_lines()
    first = SECTION.index(b");\nINSERT INTO `t` (`id`) VALUES (3)") + 1
    second = SECTION.index(b"*/;\nUNLOCK TABLES") + 2

    assert find(SECTION, 0, len(SECTION)) == first
    assert find(SECTION, first + 1, len(SECTION)) == second
    assert find(SECTION, 0, first + 13) == -1  # the next statement's start cut by the end


@settings(max_examples=1000, deadline=None)
@given(data=DATA, start=BOUND, end=BOUND)
def test_c_count_and_search_give_what_python_gives(data: bytes, start: int, end: int) -> None:
    count, find = native_lines()

    assert count(data, start, end) == python_count_newlines(data, start, end)
    assert find(data, start, end) == python_find_statement_end(data, start, end)


def test_c_count_gives_what_python_gives_across_its_blocks() -> None:
    count, _find = native_lines()
    data = b"\n" * 5000 + b"x\ny" * 3000 + b"\n" * 17

    for start, end in [(0, len(data)), (1, 4081), (7, 4096 + 33), (3000, len(data) - 1)]:
        assert count(data, start, end) == python_count_newlines(data, start, end)


NEEDLES = st.sampled_from([b"", b";", b";\n", b"\nUNLOCK TABLES;\n", b"INSERT INTO "]) | st.binary(
    max_size=4
)


@settings(max_examples=1000, deadline=None)
@given(data=DATA, needle=NEEDLES, start=BOUND, end=BOUND)
def test_c_find_gives_what_bytes_find_gives(
    data: bytes, needle: bytes, start: int, end: int
) -> None:
    if NATIVE_FIND_BYTES is None:
        pytest.fail("backproof._native.dump_lines is not built")

    assert NATIVE_FIND_BYTES(data, needle, start, end) == data.find(needle, start, end)
