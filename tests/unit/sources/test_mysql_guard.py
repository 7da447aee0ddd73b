"""The statement guard of MariaDB dumps: what mariadb-dump writes passes, the rest is refused."""

from __future__ import annotations

import pytest

from backproof.sources.mysql_guard import (
    OUTSIDE,
    SECTION,
    SECTION_END,
    SECTION_ROWS,
    RefusedStatementError,
    StatementGuard,
)

DUMP = b"""\
/*M!999999\\- enable the sandbox mode */\x20
-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;

--
-- Table structure for table `t`
--

DROP TABLE IF EXISTS `t`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
CREATE TABLE `t` (
  `id` int(11) NOT NULL,
  `s` varchar(50) DEFAULT NULL COMMENT 'it''s; a /* col',
  `f` double DEFAULT 1.5,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
/*!40101 SET character_set_client = @saved_cs_client */;
LOCK TABLES `t` WRITE;
/*!40000 ALTER TABLE `t` DISABLE KEYS */;
INSERT INTO `t` (`id`, `s`, `f`) VALUES (1,'a;b\\n\\'x -- y DROP DATABASE z;',-0.00000000015),
(2,NULL,1.5e-10),
(3,_binary 'x',0x00FF);
/*!40000 ALTER TABLE `t` ENABLE KEYS */;
UNLOCK TABLES;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER tr BEFORE INSERT ON t \
FOR EACH ROW SET NEW.s = CONCAT(NEW.s,';') */;;
DELIMITER ;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */
/*!50001 VIEW `v` AS select `t`.`id` AS `id` from `t` */;
DELIMITER ;;
CREATE DEFINER=`root`@`localhost` PROCEDURE `p`()
BEGIN SELECT 1; SELECT 'x;y'; END
;;
DELIMITER ;
/*!50106 DROP EVENT IF EXISTS `e` */;
/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
-- Dump completed on 2026-11-30 19:08:49
"""
LAST_LINE = DUMP.count(b"\n") + 1


def guard_all(data: bytes, chunk_bytes: int = 1 << 20) -> bytes:
    """Return what the guard passes on of ``data`` fed in chunks of ``chunk_bytes``."""
    guard = StatementGuard()
    pieces = [guard.feed(data[i : i + chunk_bytes]) for i in range(0, len(data), chunk_bytes)]
    return b"".join(pieces) + guard.finish()


@pytest.mark.parametrize("chunk_bytes", [1, 7, 64, 1 << 20])
def test_a_mariadb_dump_passes_whole_whatever_the_chunks(chunk_bytes: int) -> None:
    assert guard_all(DUMP, chunk_bytes) == DUMP


@pytest.mark.parametrize("chunk_bytes", [1, 64, 1 << 20])
def test_parts_cut_the_passed_text_where_its_data_section_opens_and_closes(
    chunk_bytes: int,
) -> None:
    guard = StatementGuard()
    parts = [
        part
        for i in range(0, len(DUMP), chunk_bytes)
        for part in guard.feed_parts(DUMP[i : i + chunk_bytes])
    ]
    parts += guard.finish_parts()

    assert b"".join(part.text for part in parts) == DUMP
    kinds = [part.kind for part in parts]
    assert kinds.count(SECTION) == 1
    assert parts[kinds.index(SECTION)].text == b"LOCK TABLES `t` WRITE;\n"
    inside = kinds[kinds.index(SECTION) + 1 : kinds.index(SECTION_END)]
    assert set(inside) == {SECTION_ROWS}
    assert set(kinds) == {OUTSIDE, SECTION, SECTION_ROWS, SECTION_END}


def test_a_data_section_opened_under_another_delimiter_is_not_a_section_part() -> None:
    dump = b"DELIMITER ;;\nLOCK TABLES `t` WRITE;\nINSERT INTO `t` VALUES (1);\nUNLOCK TABLES;\n"
    guard = StatementGuard()

    parts = guard.feed_parts(dump) + guard.finish_parts()

    assert SECTION not in [part.kind for part in parts]
    assert b"".join(part.text for part in parts) == dump


@pytest.mark.parametrize(
    ("appended", "kind"),
    [
        (b"DROP DATABASE other;\n", "DROP DATABASE"),
        (b"DROP TABLE `third`.`t`;\n", "DROP TABLE of another database"),
        (b"CREATE DATABASE evil;\n", "CREATE DATABASE"),
        (b"ALTER DATABASE `x` CHARACTER SET latin1;\n", "ALTER DATABASE"),
        (b"SELECT 1 INTO OUTFILE '/tmp/x';\n", "INTO OUTFILE"),
        (b"SELECT 1 INTO DUMPFILE '/tmp/x';\n", "INTO DUMPFILE"),
        (b"LOAD DATA INFILE '/etc/passwd' INTO TABLE t;\n", "LOAD DATA"),
        (b"SET @a = LOAD_FILE('/etc/passwd');\n", "LOAD_FILE"),
        (b"USE other;\n", "USE"),
        (b"GRANT ALL ON *.* TO x;\n", "GRANT"),
        (b"REVOKE ALL ON *.* FROM x;\n", "REVOKE"),
        (b"CREATE USER x IDENTIFIED BY 'y';\n", "CREATE USER"),
        (b"SET GLOBAL general_log = 1;\n", "SET GLOBAL"),
        (b"SET @@global.general_log = 1;\n", "SET GLOBAL"),
        (b"INSTALL PLUGIN x SONAME 'x.so';\n", "INSTALL PLUGIN"),
        (b"SHUTDOWN;\n", "SHUTDOWN"),
        (b"SELECT SLEEP(100);\n", "SELECT SLEEP"),
        (b"/*!50000 DROP DATABASE other */;\n", "DROP DATABASE"),
        (b"CREATE TABLE x (a int); DROP DATABASE other;\n", "DROP DATABASE"),
        (b"/*!99999 ' */ DROP DATABASE x; -- '\n", "a quoted '*/' inside a versioned comment"),
        (b"SET sql_mode = 'NO_BACKSLASH_ESCAPES';\n", "SET SQL_MODE that changes quoting"),
        (b"SET NAMES gbk;\n", "SET of the character set gbk"),
        (b"\\! id\n", "a client command (backslash)"),
        (b"DELIMITER //\n", "DELIMITER '//'"),
        (b"CREATE PROCEDURE `other`.`p`() SELECT 1;\n", "CREATE PROCEDURE in another database"),
        (
            b"CREATE TRIGGER tr BEFORE INSERT ON other.t FOR EACH ROW SET @a = 1;\n",
            "CREATE TRIGGER in another database",
        ),
        (b"CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DROP DATABASE other;\n", "DROP DATABASE"),
        (b"CREATE TABLE t2 (a int) DATA DIRECTORY = '/tmp';\n", "DATA DIRECTORY"),
        (b"DROP DATABASE other", "DROP DATABASE"),
    ],
)
def test_a_statement_beyond_the_database_is_refused_with_its_kind_and_line(
    appended: bytes, kind: str
) -> None:
    with pytest.raises(RefusedStatementError) as refused:
        guard_all(DUMP + appended)

    assert refused.value.kind == kind
    assert refused.value.line == LAST_LINE
    assert f"{kind} at line {LAST_LINE}" in str(refused.value)


@pytest.mark.parametrize(
    ("rows", "shown"),
    [
        (b"INSERT INTO `t` VALUES (1); DROP DATABASE x;\n", "DROP"),
        (b"INSERT INTO `t` VALUES (1);-- '\nDROP DATABASE x;\n';\n", "-"),
        (b"INSERT INTO `t` VALUES (1);/* ' */ DROP DATABASE x; -- '\n", "/"),
        (b"INSERT INTO `other`.`t` VALUES (1);\n", "."),
        (b"INSERT INTO `t` VALUES ((SELECT LOAD_FILE('/etc/passwd')));\n", "SELECT"),
        (b"INSERT INTO `t` VALUES ('a\nb');\n", "'"),
        (b"INSERT INTO `t` VALUES (1) ON DUPLICATE KEY UPDATE id = 2;\n", "ON"),
    ],
)
def test_anything_but_rows_in_a_data_section_is_refused(rows: bytes, shown: str) -> None:
    data = DUMP + b"LOCK TABLES `t` WRITE;\n" + rows + b"UNLOCK TABLES;\n"

    with pytest.raises(RefusedStatementError) as refused:
        guard_all(data)

    assert refused.value.kind == f"{shown!r} among the rows"
    assert refused.value.line == LAST_LINE + 1


def test_nothing_of_a_refused_statement_is_passed_on() -> None:
    guard = StatementGuard()
    passed = guard.feed(DUMP + b"CREATE TABLE `x` (\n  `a` int\n")

    with pytest.raises(RefusedStatementError):
        guard.feed(b") ENGINE=InnoDB; DROP DATABASE other;\n")
    assert passed == DUMP
