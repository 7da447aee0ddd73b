"""The statement guard's row check in C: built, used, and the same length as the regular
expression ``ROWS`` for any bytes, so the guard refuses exactly what it refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backproof.sources import mysql_guard
from backproof.sources.dump_lines import NATIVE_MATCH_ROWS
from backproof.sources.mysql_guard import (
    RefusedStatementError,
    StatementGuard,
    python_match_rows,
)

# Pieces of row data and of what the pattern refuses, cut and joined anyhow.
PIECES = [
    b"'",
    b"\\",
    b"\\'",
    b"\n",
    b"`",
    b"``",
    b"0x",
    b"0",
    b"7",
    b".",
    b"e",
    b"E",
    b"+",
    b"-",
    b"--",
    b"NULL",
    b"INSERT",
    b"INTO",
    b"VALUES",
    b"_binary",
    b"x",
    b"X",
    b"b",
    b"B",
    b"f",
    b" ",
    b"(",
    b")",
    b",",
    b";",
    b"\t\r\x0b\x0c",
    b"\x1c",
    b"\xc3\xa9",
    b"/*!40000 ALTER TABLE `",
    b"` DISABLE KEYS */;",
    b"` ENABLE KEYS */;",
    b"ABLE KEYS */;",
    b"/*",
    b"#",
    b"'it''s'",
    b"1.5e-3",
    b"INSERT INTO `t` (`id`, `s`) VALUES ",
]
ROWS_BYTES = st.lists(st.sampled_from(PIECES) | st.binary(max_size=6), max_size=40).map(b"".join)
ROWS = (
    b"/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n"
    b"INSERT INTO `t` (`id`, `s`, `f`) VALUES (1,'a;b\\n\\'x -- y DROP DATABASE z;',-0.5),\n"
    b"(2,NULL,1.5e-10),\n(3,_binary 'x',0x00FF),\n(4,X'0A',b'1');\n"
    b"/*!40000 ALTER TABLE `t` ENABLE KEYS */;\n"
)


def test_the_c_row_check_is_built_and_the_guard_uses_it() -> None:
    if NATIVE_MATCH_ROWS is None:
        pytest.fail(
            "backproof._native.dump_lines (the C row check of the statement guard) is not "
            "built: install with a C compiler and Python's headers (`make install`)"
        )
    assert mysql_guard.match_rows is NATIVE_MATCH_ROWS


def c_match_rows(rows: bytes) -> int:
    """Return the C check's length; fail when it is not built."""
    if NATIVE_MATCH_ROWS is None:
        pytest.fail("backproof._native.dump_lines is not built")
    return NATIVE_MATCH_ROWS(rows)


@settings(max_examples=3000, deadline=None)
@given(rows=ROWS_BYTES)
def test_c_row_check_gives_the_regular_expressions_length_for_any_bytes(rows: bytes) -> None:
    assert c_match_rows(rows) == python_match_rows(rows)


@pytest.mark.parametrize(
    ("rows", "length"),
    [
        (ROWS, len(ROWS)),
        (b"(1,'a'),\n-- DROP", 9),  # a comment
        (b"(1,'a' /* x */)", 7),  # another comment
        (b"(1,'a\nb')", 3),  # a string over two lines
        (b"(1,'a\\\nb')", 3),  # a backslash before a newline escapes nothing
        (b"(1,'a'", 6),
        (b"(1,'abc", 3),  # a string not closed
        (b"(1abc)", 1),  # a number running into a word
        (b"(1.)", 1),
        (b"(1.5.2)", 1),
        (b"(1e5,1E+5,1e-5,1e)", 15),
        (b"(0x,0xG1,0x1F)", 1),
        (b"(NULLx,NULL.a)", 1),
        (b"(NULL)", 6),
        (b"(--1)", 1),
        (b"(-1)", 4),
        (b"(`a``b`,`a``", 8),  # a name whose doubled backquote leaves it open
        (b"(SELECT 1)", 1),
        (b"(x'00',x)", 7),
        (b"INSERTS", 0),
        (b"db.`t`", 0),
        (b"(1)\n/*!40000 ALTER TABLE `t` DISABLE KEYS */;", 45),
        (b"(1) /*!40000 ALTER TABLE `t` DISABLE KEYS */;", 4),  # not at a line's start
        (b"/*!40000 ALTER TABLE `t` DISABLE KEYS */; x", 0),  # not ending its line
        (b"/*!40000 ALTER TABLE `` DISABLE KEYS */;", 0),  # no name
        (b"/*!40000 ALTER TABLE `a``b` ENABLE KEYS */;\n", 44),
        (b"/*!40000 ALTER TABLE `t` DROP KEYS */;", 0),
    ],
)
def test_c_row_check_stops_where_the_regular_expression_stops(rows: bytes, length: int) -> None:
    assert python_match_rows(rows) == length
    assert c_match_rows(rows) == length


SECTION = b"LOCK TABLES `t` WRITE;\n" + ROWS + b"UNLOCK TABLES;\n"


@pytest.mark.parametrize(
    "tampered",
    [
        SECTION,
        SECTION.replace(b"(2,NULL", b"(2,LOAD_FILE('/etc/passwd')"),
        SECTION.replace(b"-0.5),\n", b"-0.5),\n-- x\n"),
        SECTION.replace(b"(3,", b"(3,`db`.`t`,"),
        SECTION.replace(b"VALUES (1,'a", b"VALUES (1,'a\n"),
        SECTION.replace(b"ENABLE KEYS */;\n", b"ENABLE KEYS */; DROP TABLE x;\n"),
    ],
)
@pytest.mark.parametrize("chunk_bytes", [1, 13, 1 << 20])
def test_the_guard_passes_and_refuses_the_same_with_either_row_check(
    tampered: bytes, chunk_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = []
    for match_rows in (c_match_rows, python_match_rows):
        monkeypatch.setattr(mysql_guard, "match_rows", match_rows)
        guard = StatementGuard()
        try:
            passed = [
                guard.feed(tampered[i : i + chunk_bytes])
                for i in range(0, len(tampered), chunk_bytes)
            ]
            outcomes.append((b"".join(passed) + guard.finish(), None))
        except RefusedStatementError as exc:
            outcomes.append((b"", (exc.kind, exc.line)))

    assert outcomes[0] == outcomes[1]
    assert (outcomes[0][1] is None) == (tampered == SECTION)
