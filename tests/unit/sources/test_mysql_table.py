"""The statements of one table picked out of a checked mariadb-dump stream."""

from __future__ import annotations

from backproof.sources.mysql_guard import StatementGuard
from backproof.sources.mysql_table import TableSelector

DUMP = b"""/*M!999999\\- enable the sandbox mode */
-- MariaDB dump 10.19
/*!40101 SET NAMES utf8mb4 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;

--
-- Table structure for table `a;b`
--

DROP TABLE IF EXISTS `a;b`;
CREATE TABLE `a;b` (
  `id` int(11) NOT NULL COMMENT 'DROP TABLE IF EXISTS `t`;',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

LOCK TABLES `a;b` WRITE;
INSERT INTO `a;b` (`id`) VALUES (1),
(2);
UNLOCK TABLES;

--
-- Table structure for table `t`
--

DROP TABLE IF EXISTS `t`;
CREATE TABLE `t` (
  `id` int(11) NOT NULL,
  `note` text DEFAULT 'x;y',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;

LOCK TABLES `t` WRITE;
/*!40000 ALTER TABLE `t` DISABLE KEYS */;
INSERT INTO `t` (`id`, `note`) VALUES (1,'UNLOCK TABLES;'),
(2,'b');
/*!40000 ALTER TABLE `t` ENABLE KEYS */;
UNLOCK TABLES;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.note = 'z' */;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;

-- Dump completed on 2026-11-30 22:54:59
"""


def select(table: str, chunk_bytes: int) -> bytes:
    """Return what the selector passes on of ``DUMP`` fed in chunks of ``chunk_bytes``."""
    guard = StatementGuard()
    selector = TableSelector(table)
    kept = b""
    for start in range(0, len(DUMP), chunk_bytes):
        kept += selector.feed(guard.feed(DUMP[start : start + chunk_bytes]))
    return kept + selector.feed(guard.finish() + b"\n")


def test_selector_keeps_the_table_statements_rows_and_session_settings_only() -> None:
    kept = select("t", len(DUMP))

    assert b"DROP TABLE IF EXISTS `t`;" in kept
    assert b"`note` text DEFAULT 'x;y'" in kept
    assert b"(1,'UNLOCK TABLES;'),\n(2,'b');\n" in kept
    assert kept.count(b"UNLOCK TABLES;") == 2  # in the row, then the end of the section
    assert b"SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS" in kept
    assert b"`a;b`" not in kept
    assert b"TRIGGER" not in kept
    assert b"DELIMITER" not in kept


def test_selector_keeps_a_table_whose_name_holds_a_semicolon() -> None:
    kept = select("a;b", len(DUMP))

    assert b"CREATE TABLE `a;b`" in kept
    assert b"(2);\nUNLOCK TABLES;\n" in kept
    assert b"CREATE TABLE `t`" not in kept


def test_selector_reads_the_same_whatever_the_chunks() -> None:
    whole = select("t", len(DUMP))

    assert [select("t", size) for size in (1, 7, 64)] == [whole, whole, whole]
