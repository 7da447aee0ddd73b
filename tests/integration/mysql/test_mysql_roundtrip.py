"""MariaDB end to end through the source: dump, restore into a scratch database, compare."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from mariadb_server import ContextMaker, MariaServer

from backproof.comparison import compare_database_facts
from backproof.jobs.backup import run_backup
from backproof.jobs.verify import run_verify
from backproof.sources.mysql import OBJECT_COUNTS_NOTE
from backproof.sources.mysql_guard import RefusedStatementError
from backproof.sources.registry import open_database
from scratch_databases import Scratch, scratch_database

KEY_TABLES = ["companies", "contacts", "Order", "audit_log", "deal_events"]


def checksums(maria: MariaServer, database: str) -> dict[str, str]:
    """Return a checksum of every table's rows, read in a fixed order."""
    tables = [
        name
        for (name,) in maria.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
            "AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME <> '_backproof_verify_marker'",
            (database,),
        )
    ]
    result = {}
    for table in tables:
        rows = maria.execute(f"SELECT * FROM `{table}`", database=database)
        result[table] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return result


def scalar(maria: MariaServer, database: str, query: str) -> object:
    """Return the one value of ``query``."""
    return maria.execute(query, database=database)[0][0]


@pytest.fixture
def scratch(maria: MariaServer) -> Iterator[Scratch]:
    """A scratch database on the shared server (dropped after)."""
    with scratch_database(maria.url("mysql")) as made:
        yield made


def test_restore_reproduces_every_table_value_and_object_of_the_crm(
    maria: MariaServer, scratch: Scratch
) -> None:
    database = maria.create_database(big_rows=1000)
    dump = io.BytesIO()
    info = open_database(maria.url(database)).dump(dump, KEY_TABLES, 50)
    dump.seek(0)
    scratch.database.restore(dump, info.format)
    restored = scratch.name

    assert compare_database_facts(info.facts, scratch.database.inspect(info.facts)) == []
    assert checksums(maria, restored) == checksums(maria, database)
    assert scalar(maria, restored, "SELECT NEXTVAL(invoice_numbers)") == 4242 + 1
    assert scalar(maria, restored, "SELECT czech_greeting('Žofie')") == "Dobrý den, Žofie 👋"
    assert scalar(maria, restored, "SELECT COUNT(*) FROM vip_companies") == 30
    assert scalar(maria, restored, "SELECT full_name FROM contacts WHERE id = 1") == "Žofie Dvořák"
    assert scalar(maria, restored, "SELECT LENGTH(notes) FROM companies WHERE id = 1") == (
        scalar(maria, database, "SELECT LENGTH(notes) FROM companies WHERE id = 1")
    )


def test_facts_name_tables_counts_objects_samples_and_warnings(maria: MariaServer) -> None:
    database = maria.create_database(big_rows=10)
    info = open_database(maria.url(database)).dump(io.BytesIO(), KEY_TABLES, 20)
    facts = info.facts

    assert facts.tables == {
        "Order": 2,
        "audit_log": 43,
        "big_table": 10,
        "companies": 300,
        "contacts": 2000,
        "deal_events": 400,
        "empty_table": 0,
        "legacy_notes": 2,
    }
    assert facts.objects["views"] == 1
    assert facts.objects["triggers"] == 1
    assert facts.objects["routines"] == 2
    assert facts.objects["events"] == 1
    assert facts.objects["sequences"] == 1
    assert facts.objects["partitions"] == 2
    assert len(facts.samples["contacts"].rows) == 20
    assert facts.samples["Order"].key_columns == ["Id"]
    assert facts.samples["deal_events"].key_columns == ["id", "happened"]
    assert facts.samples["audit_log"].key_columns == []  # no primary key: rows by checksum
    assert facts.warnings == [
        "table legacy_notes uses MyISAM, not InnoDB: its dump is not consistent with the other "
        "tables if it was written during the backup",
        OBJECT_COUNTS_NOTE,
    ]
    assert info.source.engine == "mysql"
    assert info.source.server_version.startswith("10.")
    assert info.source.client_version.startswith("mariadb-dump MariaDB ")


def test_verify_matches_exactly_although_the_application_writes_throughout_the_backup(
    maria: MariaServer, make_context: ContextMaker
) -> None:
    database = maria.create_database(big_rows=1_000_000)
    context = make_context(maria.url(database), key_tables=["companies", "contacts", "big_table"])
    writes = 0
    stop = threading.Event()

    def write_like_the_application() -> None:
        nonlocal writes
        connection = maria.connect(database)
        with connection.cursor() as cursor:
            while not stop.is_set():
                writes += 1
                cursor.execute("BEGIN")
                cursor.execute(
                    "INSERT INTO big_table VALUES (%s, 'nový řádek')", (2_000_000 + writes,)
                )
                cursor.execute(
                    "UPDATE contacts SET balance = balance + 1 WHERE id = %s", (writes % 2000 + 1,)
                )
                cursor.execute("DELETE FROM big_table WHERE id = %s", (writes * 7,))
                cursor.execute("COMMIT")
        connection.close()

    writer = threading.Thread(target=write_like_the_application)
    writer.start()
    try:
        writes_before = writes
        backup = run_backup(context)
        writes_during = writes - writes_before
    finally:
        stop.set()
        writer.join()
    verify = run_verify(context)

    assert writes_during > 0
    assert verify.backup_id == backup.backup_id
    assert verify.sampled_rows == 300


def test_tampered_dump_with_client_shell_commands_runs_no_command(
    maria: MariaServer, scratch: Scratch, tmp_path: Path
) -> None:
    database = maria.create_database()
    dump = io.BytesIO()
    info = open_database(maria.url(database)).dump(dump, ["companies"], 5)
    witnesses = [tmp_path / "bang", tmp_path / "system"]
    planted = f"\\! touch {witnesses[0]}\nsystem touch {witnesses[1]}\n".encode()
    tampered = io.BytesIO(planted + dump.getvalue() + planted)

    with pytest.raises(RefusedStatementError, match=r"a client command \(backslash\) at line 1"):
        scratch.database.restore(tampered, info.format)

    assert [witness.exists() for witness in witnesses] == [False, False]
