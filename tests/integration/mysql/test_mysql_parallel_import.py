"""The parallel import of a MariaDB dump (issue 12): the client runs the schema in order, the
INSERT statements go to connections of their own; the result is the single-stream import's."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from typing import Any

import pytest
import test_mysql_roundtrip
from mariadb_server import MariaServer
from test_mysql_roundtrip import KEY_TABLES, checksums, scalar

from backproof.comparison import compare_database_facts
from backproof.errors import PipelineError, RestoreError
from backproof.sources.base import RestoreOptions
from backproof.sources.mysql_import import execute_retrying_deadlocks
from backproof.sources.registry import open_database
from scratch_databases import Scratch

PARALLEL = RestoreOptions(jobs=3)
scratch = test_mysql_roundtrip.scratch  # the fixture: a scratch database, dropped after
# Rows inserted before the trigger exists, a zero in an AUTO_INCREMENT column (kept only under
# the header's NO_AUTO_VALUE_ON_ZERO), a TIMESTAMP (dumped in UTC), and enough rows for many
# INSERT statements (mariadb-dump cuts them at about 1 MiB).
SETTINGS_SQL = """
CREATE TABLE stamped (id INT AUTO_INCREMENT PRIMARY KEY, at TIMESTAMP NULL, note TEXT);
SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO');
INSERT INTO stamped (id, at, note) VALUES (0, '2024-03-31 01:30:00', 'nula'),
  (5, NULL, 'bez času `s obrácenými apostrofy`');
INSERT INTO stamped (at, note) SELECT NULL, CONCAT('řádek ', seq, ' ', REPEAT(MD5(seq), 4))
  FROM seq_1_to_30000;
CREATE TABLE copies (id INT PRIMARY KEY, at TIMESTAMP NULL);
DELIMITER ;;
CREATE TRIGGER stamped_at BEFORE INSERT ON stamped FOR EACH ROW
BEGIN
  IF NEW.at IS NULL THEN SET NEW.at = '2000-01-01 00:00:00'; END IF;
  INSERT INTO copies VALUES (NEW.id, NEW.at);
END;;
DELIMITER ;
"""


@pytest.fixture
def settings_dump(maria: MariaServer) -> bytes:
    """The dump of a database made of ``SETTINGS_SQL``."""
    database = maria.create_database(crm=False)
    maria.run_sql(database, SETTINGS_SQL)
    dump = io.BytesIO()
    open_database(maria.url(database)).dump(dump, [], 5)
    return dump.getvalue()


def test_parallel_import_reproduces_every_table_value_and_object_of_the_crm(
    maria: MariaServer, scratch: Scratch
) -> None:
    database = maria.create_database(big_rows=30000)
    dump = io.BytesIO()
    info = open_database(maria.url(database)).dump(dump, KEY_TABLES, 50)
    assert dump.getvalue().count(b"INSERT INTO `big_table`") > 1
    dump.seek(0)

    scratch.database.restore(dump, info.format, PARALLEL)

    restored = scratch.name
    assert compare_database_facts(info.facts, scratch.database.inspect(info.facts)) == []
    assert checksums(maria, restored) == checksums(maria, database)
    assert scalar(maria, restored, "SELECT COUNT(*) FROM vip_companies") == 30
    assert scalar(maria, restored, "SELECT czech_greeting('Žofie')") == "Dobrý den, Žofie 👋"


def test_every_connection_takes_the_dumps_session_and_no_trigger_fires_on_dumped_rows(
    maria: MariaServer, scratch: Scratch, settings_dump: bytes
) -> None:
    assert settings_dump.count(b"INSERT INTO `stamped`") > 2

    scratch.database.restore(io.BytesIO(settings_dump), "mysql-sql", PARALLEL)

    restored = scratch.name
    (database,) = maria.made_databases
    assert checksums(maria, restored) == checksums(maria, database)
    assert scalar(maria, restored, "SELECT note FROM stamped WHERE id = 0") == "nula"
    assert scalar(maria, restored, "SELECT COUNT(*) FROM stamped WHERE at IS NULL") == 30001
    assert scalar(maria, restored, "SELECT COUNT(*) FROM copies") == 0


def test_a_statement_hidden_in_a_name_among_the_rows_is_not_run_on_its_own(
    maria: MariaServer, scratch: Scratch, settings_dump: bytes
) -> None:
    restored = scratch.name
    # The guard reads `…` as a name; cut at the lines ending in ';', the middle line would be a
    # statement of its own. Only the client, reading the whole, may have it: as a column name.
    hidden = b"INSERT INTO `stamped` VALUES (1,`x\n);\nDROP TABLE copies;\n`);\n"
    enable = b"/*!40000 ALTER TABLE `stamped` ENABLE KEYS */;\n"
    head, _, tail = settings_dump.partition(enable)
    tampered = head + hidden + enable + tail

    with pytest.raises(PipelineError, match="Unknown column"):
        scratch.database.restore(io.BytesIO(tampered), "mysql-sql", PARALLEL)

    assert scalar(maria, restored, "SELECT COUNT(*) FROM copies") == 0


class ShortReads(io.RawIOBase):
    """A dump read at most ``size`` bytes at a time, as a pipe may give it."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data, self._size, self._position = data, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        piece = self._data[self._position : self._position + min(self._size, len(buffer))]
        buffer[: len(piece)] = piece
        self._position += len(piece)
        return len(piece)


@pytest.mark.parametrize("read_bytes", [4093, 65537])
def test_statements_cut_across_many_reads_are_imported_whole(
    maria: MariaServer, scratch: Scratch, settings_dump: bytes, read_bytes: int
) -> None:
    statements = settings_dump.count(b"INSERT INTO `stamped`")
    assert statements > 2 and len(settings_dump) // read_bytes > statements

    scratch.database.restore(ShortReads(settings_dump, read_bytes), "mysql-sql", PARALLEL)

    (database,) = maria.made_databases
    assert checksums(maria, scratch.name) == checksums(maria, database)


def test_a_failing_insert_stops_the_import_naming_its_table(
    scratch: Scratch, settings_dump: bytes
) -> None:
    first = settings_dump.index(b"INSERT INTO `stamped`")
    statement = settings_dump[first : settings_dump.index(b";\n", first) + 2]
    tampered = settings_dump.replace(statement, statement + statement, 1)

    with pytest.raises(RestoreError, match="the import of table stamped failed: Duplicate entry"):
        scratch.database.restore(io.BytesIO(tampered), "mysql-sql", PARALLEL)


def test_a_statement_chosen_as_a_deadlocks_victim_runs_again(maria: MariaServer) -> None:
    database = maria.create_database(crm=False)
    maria.execute("CREATE TABLE t (id INT PRIMARY KEY)", database=database)
    maria.execute("CREATE TABLE bulk (id INT PRIMARY KEY)", database=database)
    attempts: list[int] = []
    # Closed even when the test fails: an open transaction on `bulk` would hold the fixture's
    # DROP DATABASE on its metadata lock.
    with (
        contextlib.closing(maria.connect(database)) as holder,
        contextlib.closing(maria.connect(database)) as victim,
    ):
        holder.autocommit(False)
        with holder.cursor() as hold, victim.cursor() as cursor:
            # The holder's transaction has the larger undo: InnoDB rolls the other one back.
            hold.execute("INSERT INTO bulk SELECT seq FROM seq_1_to_5000")
            hold.execute("INSERT INTO t VALUES (1)")
            statement = b"INSERT INTO t VALUES (2), (1)"  # takes 2, then waits for the holder's 1
            running = threading.Thread(
                target=lambda: attempts.append(execute_retrying_deadlocks(cursor, statement))
            )
            running.start()
            time.sleep(1.0)
            hold.execute("INSERT INTO t VALUES (2)")  # waits for the statement's 2: a cycle
            holder.rollback()
            running.join(30)

    assert attempts == [2]
    assert maria.execute("SELECT id FROM t ORDER BY id", database=database) == ((1,), (2,))
