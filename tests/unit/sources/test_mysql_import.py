"""Which statements of a checked MariaDB data section go over a connection of their own."""

from __future__ import annotations

import pytest

from backproof.sources.mysql_import import is_whole_insert

TABLE = b"`t`"


@pytest.mark.parametrize(
    "statement",
    [
        b"INSERT INTO `t` VALUES (1,'a'),\n(2,NULL);\n",
        b"INSERT INTO `t` (`id`, `note`) VALUES (1,'a;\\n'),\n(2,_binary 'x'),\n(3,0x00FF);\n",
        b"INSERT INTO `t` (`id`, `note`) VALUES (1,'backquotes ` in `` a string');\n",
        b"INSERT INTO `t` (`a``b`) VALUES (-1.5e-10);\n",
    ],
)
def test_a_whole_insert_of_the_table_goes_over_a_connection(statement: bytes) -> None:
    assert is_whole_insert(statement, TABLE)


@pytest.mark.parametrize(
    ("statement", "why"),
    [
        (b"INSERT INTO `t` VALUES (1,`x\n);\n", "a quoted name among the rows may go on"),
        (b"INSERT INTO `u` VALUES (1);\n", "another table"),
        (b"INSERT INTO `t` (`a\nb`) VALUES (1);\n", "a column name over two lines"),
        (b"INSERT INTO `t\nx` VALUES (1);\n", "a table name over two lines"),
        (b"DROP TABLE `t`;\n", "not an INSERT"),
        (b"/*!40000 ALTER TABLE `t` ENABLE KEYS */;\n", "not an INSERT"),
        (b"INSERT INTO `t` VALUES (1)", "not ended"),
        (b"INSERT INTO `t` VALUES (1,'it''s `'),(`y`);\n", "a name after a string"),
    ],
)
def test_anything_else_goes_to_the_client(statement: bytes, why: str) -> None:
    assert not is_whole_insert(statement, TABLE), why
