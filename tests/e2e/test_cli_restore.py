"""``restore ID --to sqlite:///… --files-to DIR``: an identical database and identical files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cli_user import User

TABLES = ("companies", "contacts", "deals", "notes")


def dump_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Return every row of every demo table, in key order."""
    connection = sqlite3.connect(path)
    try:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in TABLES
        }
    finally:
        connection.close()


def file_contents(folder: Path) -> dict[str, bytes]:
    """Return every regular file under ``folder`` by relative path."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_restore_gives_an_identical_database_and_identical_files(user: User) -> None:
    backup_id = user.backup()

    output = user.ok("restore", backup_id, "--to", "sqlite:///restored.db", "--files-to", "out")

    assert f"backup {backup_id} restored" in output
    restored = user.demo.folder / "restored.db"
    assert dump_rows(restored) == dump_rows(user.demo.database)
    assert file_contents(user.demo.folder / "out" / "uploads") == file_contents(user.demo.uploads)
    assert user.audit_rows("restore")[0]["status"] == "success"


def test_restore_refuses_a_database_that_is_not_empty(user: User) -> None:
    backup_id = user.backup()

    process = user.run("restore", backup_id, "--to", "sqlite:///crm.db")

    assert process.returncode == 1
    assert "not empty" in process.stderr
    assert "--force" in process.stderr


def test_restore_refuses_a_folder_that_is_not_empty(user: User) -> None:
    backup_id = user.backup()
    (user.demo.folder / "out").mkdir()
    (user.demo.folder / "out" / "mine.txt").write_text("keep", "utf-8")

    process = user.run("restore", backup_id, "--files-to", "out")

    assert process.returncode == 1
    assert "not empty" in process.stderr
    assert (user.demo.folder / "out" / "mine.txt").read_text("utf-8") == "keep"


def test_restore_with_force_brings_back_deleted_rows(user: User) -> None:
    backup_id = user.backup()
    original = dump_rows(user.demo.database)
    connection = sqlite3.connect(user.demo.database)
    with connection:
        connection.execute("DELETE FROM contacts WHERE id > 10")
    connection.close()

    user.ok("restore", backup_id, "--to", "sqlite:///crm.db", "--force")

    assert dump_rows(user.demo.database) == original


def test_restore_to_a_relative_sqlite_url_in_a_folder_with_url_characters(
    user: User, tmp_path: Path
) -> None:
    backup_id = user.backup()
    folder = tmp_path / "C# obnova? 100%"
    folder.mkdir()

    process = user.run(
        "--config",
        str(user.demo.config),
        "restore",
        backup_id,
        "--to",
        "sqlite:///r.db",
        cwd=folder,
    )

    assert process.returncode == 0, process.stderr
    assert dump_rows(folder / "r.db") == dump_rows(user.demo.database)


def table_rows(path: Path, table: str) -> list[tuple[object, ...]]:
    """Return every row of ``table`` in ``path``, in key order."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
    finally:
        connection.close()


def other_database(user: User) -> Path:
    """Create ``other.db`` beside the demo with a table of its own; return its path."""
    path = user.demo.folder / "other.db"
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE mine (id INTEGER PRIMARY KEY)")
    connection.close()
    return path


def test_one_table_restores_into_another_file_with_its_rows_and_indexes(user: User) -> None:
    backup_id = user.backup()
    other = other_database(user)

    document = user.json("restore", backup_id, "--table", "contacts", "--to", "sqlite:///other.db")

    assert document["table"] == "contacts"
    assert document["table_rows"] == len(table_rows(user.demo.database, "contacts"))
    assert table_rows(other, "contacts") == table_rows(user.demo.database, "contacts")
    connection = sqlite3.connect(other)
    names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    connection.close()
    assert names == {"mine", "contacts", "contacts_company", "sqlite_autoindex_contacts_1"}
    meta = user.audit_rows("restore")[0]["meta"]
    assert (meta["table"], meta["table_rows"]) == ("contacts", document["table_rows"])


def test_one_table_restore_refuses_an_existing_table_unless_replace(user: User) -> None:
    backup_id = user.backup()
    other = other_database(user)
    user.ok("restore", backup_id, "--table", "notes", "--to", "sqlite:///other.db")
    connection = sqlite3.connect(other)
    with connection:
        connection.execute("DELETE FROM notes")
    connection.close()

    refused = user.run("restore", backup_id, "--table", "notes", "--to", "sqlite:///other.db")
    replaced = user.run(
        "restore", backup_id, "--table", "notes", "--to", "sqlite:///other.db", "--replace"
    )

    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"backproof: error: sqlite:///{other} already has a table notes: choose another "
        "database, or pass --replace to drop it and restore the backup's"
    ]
    assert replaced.returncode == 0, replaced.stderr
    assert f"table notes of backup {backup_id} restored" in replaced.stdout
    assert table_rows(other, "notes") == table_rows(user.demo.database, "notes")


def test_one_table_restore_refuses_the_live_database_and_a_table_not_in_the_backup(
    user: User,
) -> None:
    backup_id = user.backup()
    other_database(user)

    live = user.run("restore", backup_id, "--table", "notes", "--to", "sqlite:///crm.db")
    unknown = user.run("restore", backup_id, "--table", "invoices", "--to", "sqlite:///other.db")
    lonely = user.run("restore", backup_id, "--replace", "--to", "sqlite:///other.db")

    assert live.returncode == 1
    assert "is the database of target" in live.stderr
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines() == [
        f"backproof: error: backup {backup_id} has no table 'invoices' (it has 4: companies, "
        "contacts, deals, notes); `backproof list --json` lists every backup's tables"
    ]
    assert lonely.returncode == 2
    assert [row["status"] for row in user.audit_rows("restore")] == ["failed", "failed"]
