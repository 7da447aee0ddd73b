"""Reading a dump stream: row counts, samples and definers, whatever the chunk boundaries."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backproof.errors import SourceError
from backproof.sources.mysql_definers import DefinerStripper
from backproof.sources.mysql_digests import read_rows
from backproof.sources.mysql_stream import DumpScanner, KeyTable, count_rows
from backproof.sources.mysql_values import StrideSampler, parse_row
from backproof.sources.rows import row_digest

COLUMNS = ["id", "name", "data"]
DUMP = """/*M!999999\\- enable the sandbox mode */
-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB
CREATE TABLE `companies` (
  `id` int(11) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;
LOCK TABLES `companies` WRITE;
/*!40000 ALTER TABLE `companies` DISABLE KEYS */;
INSERT INTO `companies` (`id`, `name`, `data`) VALUES (1,'Jiří ),(\\' \\\\',0xC4CA),
(2,NULL,''),
(3,'line\\nbreak',0x00);
INSERT INTO `companies` (`id`, `name`, `data`) VALUES (4,'ctvrty',NULL);
/*!40000 ALTER TABLE `companies` ENABLE KEYS */;
UNLOCK TABLES;
CREATE TABLE `old``style` (
  `a` int
);
LOCK TABLES `old``style` WRITE;
INSERT INTO `old``style` VALUES (1,'a),(b'),(2,'c\\''),(3,NULL);
INSERT INTO `old``style` VALUES
(4,'x'),
(5,'y');
UNLOCK TABLES;
CREATE TABLE `empty` (
  `a` int
);
LOCK TABLES `empty` WRITE;
UNLOCK TABLES;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t AFTER INSERT ON x
INSERT INTO `companies` (`id`) VALUES (NEW.id) */;;
LOCK TABLES `companies` WRITE;
(99,'not a row'),
DELIMITER ;
-- Dump completed on 2026-01-01  0:00:00
""".encode()
KEY = KeyTable("companies", ["id"], COLUMNS, frozenset({"data"}))


def scan(chunks: list[bytes], key_tables: dict[str, KeyTable] | None = None) -> DumpScanner:
    """Feed ``chunks`` to a scanner and finish it."""
    scanner = DumpScanner(key_tables or {}, 10)
    for chunk in chunks:
        scanner.feed(chunk)
    scanner.finish()
    return scanner


def test_scanner_counts_rows_of_both_insert_formats_outside_strings_and_routines() -> None:
    scanner = scan([DUMP])

    assert scanner.tables == {"companies": 4, "old`style": 5, "empty": 0}


@given(st.lists(st.integers(min_value=0, max_value=len(DUMP)), max_size=12))
def test_scanner_counts_and_samples_the_same_whatever_the_chunk_boundaries(
    cuts: list[int],
) -> None:
    bounds = [0, *sorted(cuts), len(DUMP)]
    chunks = [DUMP[start:end] for start, end in itertools.pairwise(bounds)]
    whole = scan([DUMP], {"companies": KEY})

    pieces = scan(chunks, {"companies": KEY})

    assert pieces.tables == whole.tables
    assert pieces.samples() == whole.samples()
    assert pieces.digests.result(pieces.tables) == whole.digests.result(whole.tables)


def test_scanner_samples_key_rows_as_the_server_returns_their_values() -> None:
    sample = scan([DUMP], {"companies": KEY}).samples()["companies"]

    assert sample.key_columns == ["id"]
    assert sample.rows['["1"]'] == row_digest(COLUMNS, ["1", "Jiří ),(' \\", b"\xc4\xca"])
    assert sample.rows['["2"]'] == row_digest(COLUMNS, ["2", None, b""])
    assert sample.rows['["3"]'] == row_digest(COLUMNS, ["3", "line\nbreak", b"\x00"])
    assert len(sample.rows) == 4


def test_scanner_names_rows_by_checksum_for_a_table_without_a_primary_key() -> None:
    key = KeyTable("companies", [], COLUMNS, frozenset({"data"}))

    sample = scan([DUMP], {"companies": key}).samples()["companies"]

    digest = row_digest(COLUMNS, ["4", "ctvrty", None])
    assert sample.rows[digest] == digest


def test_scanner_refuses_a_dump_without_its_last_line() -> None:
    scanner = DumpScanner({}, 10)
    scanner.feed(DUMP[: DUMP.index(b"-- Dump completed")])

    with pytest.raises(SourceError, match="truncated"):
        scanner.finish()


def test_count_rows_counts_a_one_line_statement_outside_its_strings() -> None:
    statement = b"INSERT INTO `t` VALUES (1,'),(\\'),('),(2,'\\\\'),(3,0x2C29);\n"

    assert count_rows(statement) == 3


def test_read_rows_reads_a_one_line_statement_apart_outside_its_strings() -> None:
    statement = b"INSERT INTO `t` VALUES (1,'),(\\'),('),(2,'\\\\'),(3,0x2C29);\n"

    assert read_rows(statement) == ([b"(1,'),(\\'),(')", b"(2,'\\\\')", b"(3,0x2C29)"], True)


def test_read_rows_returns_the_rows_of_every_statement_shape_in_the_dump_order() -> None:
    region = (
        b"/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n"
        b"INSERT INTO `t` (`a`) VALUES (1,'x,'),\n(2,'),'),\n(3);\n"
        b"INSERT INTO `t` (`a`) VALUES (4),(5,'a;');\n"
        b"INSERT INTO `t` (`a`) VALUES (6),\n(7),\n"
    )

    rows, is_known = read_rows(region)

    assert rows == [b"(1,'x,')", b"(2,'),')", b"(3)", b"(4)", b"(5,'a;')", b"(6)", b"(7)"]
    assert is_known
    end = read_rows(b"(8),\n(9);\n/*!40000 ALTER TABLE `t` ENABLE KEYS */;\n")
    assert end == ([b"(8)", b"(9)"], True)


def test_read_rows_reads_an_insert_line_whose_table_name_holds_a_newline() -> None:
    region = b"INSERT INTO `new\nline` (`a`) VALUES (1,'x'),\n(2,'y');\n"

    assert read_rows(region) == ([b"(1,'x')", b"(2,'y')"], True)


def test_read_rows_says_when_a_line_of_an_unknown_shape_was_passed_over() -> None:
    # The region starts after a newline in a table name: its first line is not a row.
    rows, is_known = read_rows(b"line` (`a`) VALUES (1),\n(2);\n")

    assert rows == [b"(2)"]
    assert not is_known


def test_parse_row_reads_escapes_hex_null_and_empty_binary() -> None:
    row = b"(1,'a\\'b\\\\c\\0\\Z',0x00FF,NULL,'')"

    assert parse_row(row, [False, False, False, False, True]) == [
        "1",
        "a'b\\c\0\x1a",
        b"\x00\xff",
        None,
        b"",
    ]
    assert parse_row(row, [False, False]) is None


def test_stride_sampler_keeps_at_most_the_limit_evenly_spread_first_included() -> None:
    sampler = StrideSampler(10)
    for index in range(1000):
        if sampler.wants(index):
            sampler.keep(index, (str(index), ""))

    kept = [int(key) for key, _digest in sampler.result()]

    assert len(kept) == 10
    assert kept[0] == 0
    assert all(later > earlier for earlier, later in itertools.pairwise(kept))
    assert kept[-1] > 800


def test_definer_stripper_leaves_out_definers_but_never_touches_rows() -> None:
    dump = (
        b"LOCK TABLES `t` WRITE;\n"
        b"INSERT INTO `t` VALUES (1,'DEFINER=`root`@`localhost` '),\n(2,'x');\n"
        b"UNLOCK TABLES;\n"
        b"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`127.0.0.1`*/ /*!50003 TRIGGER x */;;\n"
        b"CREATE DEFINER=`app``s`@`%` PROCEDURE `p`()\n"
        b"/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n"
    )
    for cut in range(len(dump)):
        stripper = DefinerStripper()
        output = stripper.feed(dump[:cut]) + stripper.feed(dump[cut:]) + stripper.finish()

        assert output == (
            b"LOCK TABLES `t` WRITE;\n"
            b"INSERT INTO `t` VALUES (1,'DEFINER=`root`@`localhost` '),\n(2,'x');\n"
            b"UNLOCK TABLES;\n"
            b"/*!50003 CREATE*/ /*!50017 */ /*!50003 TRIGGER x */;;\n"
            b"CREATE PROCEDURE `p`()\n"
            b"/*!50013 SQL SECURITY DEFINER */\n"
        )
