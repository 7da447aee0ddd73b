"""``restore ID --table T --to URL`` on MariaDB, as a user runs it: only that table's
statements of the dump, its rows those of the source, the statement guard still standing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mariadb_server import MariaServer

from cli_process import run_with_config as run
from cli_process import write_one_target_config
from dump_tampering import rewrite_db_part

# The rewritten dump is unsigned: accepted, so that only the import's own layer stands.
UNSIGNED = "\n[encryption]\nallow_unsigned = true\n"


def rows_of(maria: MariaServer, database: str, table: str) -> tuple[Any, ...]:
    """Return every row of ``table`` in key order."""
    rows: tuple[Any, ...] = maria.execute(f"SELECT * FROM `{table}` ORDER BY 1", database=database)
    return rows


def tables_of(maria: MariaServer, database: str) -> set[str]:
    rows = maria.execute("SHOW FULL TABLES", database=database)
    return {str(row[0]) for row in rows}


def back_up(maria: MariaServer, tmp_path: Path, extra: str = "") -> tuple[Path, str, str]:
    """Back up a CRM database with a trigger on ``contacts``; return the config, the source
    database and the backup id."""
    source = maria.create_database(big_rows=300)
    maria.execute(
        "CREATE TRIGGER contacts_lower BEFORE INSERT ON contacts FOR EACH ROW "
        "SET NEW.email = LOWER(NEW.email)",
        database=source,
    )
    config = write_one_target_config(tmp_path, maria.url(source), extra)
    backup = run(config, "backup")
    assert backup.returncode == 0, backup.stderr
    return config, source, backup.stdout.strip().splitlines()[-1]


@pytest.fixture
def backed_up(maria: MariaServer, tmp_path: Path) -> tuple[Path, str, str]:
    return back_up(maria, tmp_path)


def test_one_table_restores_only_its_own_statements_with_the_rows_of_the_source(
    maria: MariaServer, backed_up: tuple[Path, str, str]
) -> None:
    config, source, backup_id = backed_up
    other = maria.create_database(crm=False)

    contacts = run(config, "restore", backup_id, "--table", "contacts", "--to", maria.url(other))
    reserved = run(config, "restore", backup_id, "--table", "Order", "--to", maria.url(other))

    assert contacts.returncode == 0, contacts.stderr
    assert reserved.returncode == 0, reserved.stderr
    assert tables_of(maria, other) == {"contacts", "Order"}
    assert rows_of(maria, other, "contacts") == rows_of(maria, source, "contacts")
    assert rows_of(maria, other, "Order") == rows_of(maria, source, "Order")
    assert maria.execute("SHOW TRIGGERS", database=other) == ()


def test_an_existing_table_is_refused_unless_replace(
    maria: MariaServer, backed_up: tuple[Path, str, str]
) -> None:
    config, source, backup_id = backed_up
    other = maria.create_database(crm=True)
    maria.execute("DELETE FROM big_table", database=other)
    url = maria.url(other).replace("127.0.0.1", "localhost")

    refused = run(config, "restore", backup_id, "--table", "big_table", "--to", url)
    rows_after_refusal = rows_of(maria, other, "big_table")
    replaced = run(config, "restore", backup_id, "--table", "big_table", "--to", url, "--replace")

    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "already has a table big_table" in refused.stderr
    assert "--replace" in refused.stderr
    assert rows_after_refusal == ()
    assert replaced.returncode == 0, replaced.stderr
    assert "(300 rows)" in replaced.stdout
    assert rows_of(maria, other, "big_table") == rows_of(maria, source, "big_table")


def test_the_live_source_and_a_missing_database_are_refused(
    maria: MariaServer, backed_up: tuple[Path, str, str]
) -> None:
    config, source, backup_id = backed_up
    live = maria.url(source).replace("mysql://", "mariadb://")

    into_source = run(config, "restore", backup_id, "--table", "contacts", "--to", live)
    missing = run(
        config, "restore", backup_id, "--table", "contacts", "--to", maria.url("bp_test_missing")
    )

    assert into_source.returncode == 1
    assert "is the database of target bptest" in into_source.stderr
    assert missing.returncode == 1
    assert "does not exist: create it first" in missing.stderr


def test_a_refused_statement_anywhere_in_the_dump_refuses_the_table_and_leaves_nothing(
    maria: MariaServer, tmp_path: Path
) -> None:
    config, _source, backup_id = back_up(maria, tmp_path, UNSIGNED)
    rewrite_db_part(tmp_path / "backups", lambda dump: dump + b"GRANT ALL ON *.* TO 'x'@'%';\n")
    other = maria.create_database(crm=False)

    refused = run(config, "restore", backup_id, "--table", "companies", "--to", maria.url(other))

    assert refused.returncode == 1
    assert refused.stderr.startswith("backproof: error: the dump holds a statement that is refused")
    assert tables_of(maria, other) == set()
