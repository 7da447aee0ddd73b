"""The table digests of a dump stream: rows in key order hashed in place, the older sum kept."""

from __future__ import annotations

import itertools

import pytest
import xxhash
from hypothesis import given
from hypothesis import strategies as st

from backproof.errors import SourceError
from backproof.sources.mysql_digests import ORDERED_METHOD, TUPLE_SUM_METHOD
from backproof.sources.mysql_stream import DumpScanner, KeyTable
from backproof.sources.table_digests import digest_rows

ROWS = [b"(1,'a),(\\'b',0x2C29)", b"(2,NULL,'')", b"(3,'x;',NULL)", b"(4,'\\n;',0x00)"]
PRIMARY_KEY = b"  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n"
NO_KEY = b"  `id` int(11) NOT NULL\n"
INSERT = b"INSERT INTO `t` (`id`, `name`, `data`) VALUES "


def dump(data: bytes, columns: bytes = PRIMARY_KEY) -> bytes:
    """Return a whole dump of table ``t`` whose data section holds the statements ``data``."""
    return (
        b"-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB\n"
        b"CREATE TABLE `t` (\n" + columns + b") ENGINE=InnoDB;\n"
        b"LOCK TABLES `t` WRITE;\n"
        b"/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n"
        + data
        + b"/*!40000 ALTER TABLE `t` ENABLE KEYS */;\n"
        b"UNLOCK TABLES;\n"
        b"-- Dump completed on 2026-01-01  0:00:00\n"
    )


def a_row_a_line(rows: list[bytes]) -> bytes:
    """One statement, a row a line, the first on the INSERT line (mariadb-dump 10.11)."""
    return INSERT + b",\n".join(rows) + b";\n"


# The same rows cut into statements as each tool may cut them.
SHAPES = {
    "one statement, a row a line": a_row_a_line(ROWS),
    "two statements": a_row_a_line(ROWS[:3]) + a_row_a_line(ROWS[3:]),
    "a statement a row": b"".join(a_row_a_line([row]) for row in ROWS),
    "one-line statements": INSERT
    + b",".join(ROWS[:2])
    + b";\n"
    + INSERT
    + b",".join(ROWS[2:])
    + b";\n",
    "rows after the INSERT line": INSERT.rstrip() + b"\n" + b",\n".join(ROWS) + b";\n",
}


def digests(text: bytes, method: str = ORDERED_METHOD, chunks: list[int] | None = None) -> dict:
    """Scan ``text`` (cut at ``chunks``); return its digests and warnings."""
    scanner = DumpScanner({}, 0, method)
    bounds = [0, *sorted(chunks or []), len(text)]
    for start, end in itertools.pairwise(bounds):
        scanner.feed(text[start:end])
    scanner.finish()
    found, warnings = scanner.digests.result(scanner.tables)
    assert not warnings
    return {name: (digest.rows, digest.digest) for name, digest in found.items()}


@pytest.mark.parametrize("shape", SHAPES)
def test_table_with_a_primary_key_is_the_hash_of_its_rows_in_order_whatever_statements_hold_them(
    shape: str,
) -> None:
    expected = xxhash.xxh3_128(b",\n".join(ROWS) + b",\n").hexdigest()

    assert digests(dump(SHAPES[shape])) == {"t": (4, expected)}


@given(st.lists(st.integers(min_value=0, max_value=len(dump(SHAPES["two statements"])))))
def test_ordered_digest_is_the_same_whatever_the_chunk_boundaries(cuts: list[int]) -> None:
    text = dump(SHAPES["two statements"])

    assert digests(text, chunks=cuts) == digests(text)


def test_ordered_digest_changes_with_one_value_of_one_row() -> None:
    changed = [*ROWS[:2], ROWS[2].replace(b"x;", b"y;"), ROWS[3]]

    assert digests(dump(a_row_a_line(changed))) != digests(dump(a_row_a_line(ROWS)))


def test_table_without_a_primary_key_is_the_sum_of_its_rows_whatever_their_order() -> None:
    shuffled = [ROWS[2], ROWS[0], ROWS[3], ROWS[1]]
    expected = digest_rows(ROWS)

    in_order = digests(dump(a_row_a_line(ROWS), NO_KEY))

    assert in_order == digests(dump(a_row_a_line(shuffled), NO_KEY))
    assert in_order == {"t": (4, expected.digest)}


@pytest.mark.parametrize("shape", SHAPES)
def test_older_method_still_gives_the_sum_older_manifests_recorded(shape: str) -> None:
    expected = digest_rows(ROWS)

    assert digests(dump(SHAPES[shape]), TUPLE_SUM_METHOD) == {"t": (4, expected.digest)}


def test_empty_table_has_the_zero_digest_by_both_methods() -> None:
    empty = dump(b"")

    assert digests(empty) == digests(empty, TUPLE_SUM_METHOD) == {"t": (0, "0" * 32)}


def test_unknown_digest_method_is_refused_in_one_line() -> None:
    with pytest.raises(SourceError, match=r"'mysql-v9'.*cannot compute: upgrade"):
        DumpScanner({}, 0, "mysql-v9")


def many_rows(count: int) -> list[bytes]:
    """Rows of uneven length (so that a row's place cannot be guessed from its index)."""
    return [b"(%d,'%s',NULL)" % (index, b"x" * (index * 7919 % 300)) for index in range(count)]


def samples(text: bytes, method: str, cuts: list[int]) -> dict[str, dict[str, str]]:
    """Return the sampled rows of key table ``t`` scanned with ``method``, cut at ``cuts``."""
    key = KeyTable("t", ["id"], ["id", "name", "data"])
    scanner = DumpScanner({"t": key}, 7, method)
    for start, end in itertools.pairwise([0, *sorted(cuts), len(text)]):
        scanner.feed(text[start:end])
    scanner.finish()
    return {name: sample.rows for name, sample in scanner.samples().items()}


@given(st.lists(st.integers(min_value=0, max_value=60_000), max_size=8))
def test_rows_found_by_their_index_are_the_rows_read_apart(cuts: list[int]) -> None:
    rows = many_rows(700)
    text = dump(a_row_a_line(rows[:450]) + a_row_a_line(rows[450:]))

    found = samples(text, ORDERED_METHOD, cuts)

    assert found == samples(text, TUPLE_SUM_METHOD, [])
    assert len(found["t"]) == 7


@given(st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_section_without_comment_lines_ends_at_its_unlock_line(cuts: list[int]) -> None:
    text = dump(SHAPES["two statements"])
    bare = text.replace(b"/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n", b"").replace(
        b"/*!40000 ALTER TABLE `t` ENABLE KEYS */;\n", b""
    )

    assert digests(bare, chunks=cuts) == digests(text)
