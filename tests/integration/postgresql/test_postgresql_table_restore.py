"""``restore ID --table T --to URL`` on PostgreSQL, as a user runs it: one table of a backup
into another database, its rows those of the source; and what is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pg_servers import PgServer
from psycopg import sql

from cli_process import run_with_config as run
from cli_process import write_one_target_config


def rows_of(pg: PgServer, database: str, schema: str, table: str) -> list[tuple[object, ...]]:
    """Return every row of ``schema.table``, in the order of all its columns."""
    query = sql.SQL("SELECT * FROM {}.{} ORDER BY 1, 2").format(
        sql.Identifier(schema), sql.Identifier(table)
    )
    with pg.connect(database) as connection:
        return connection.execute(query).fetchall()


@pytest.fixture
def backed_up(pg: PgServer, tmp_path: Path) -> tuple[Path, str, str]:
    """A CRM database with a table in a schema of its own and a dot in its name, backed up;
    return the config, the source database and the backup id."""
    source = pg.create_database(big_rows=300)
    with pg.connect(source) as connection:
        connection.execute('CREATE TABLE sales."line.items" (id int PRIMARY KEY, label text)')
        connection.execute(
            "INSERT INTO sales.\"line.items\" SELECT g, 'položka ' || g "
            "FROM generate_series(1, 50) AS g"
        )
    config = write_one_target_config(tmp_path, pg.url(source))
    backup = run(config, "backup")
    assert backup.returncode == 0, backup.stderr
    return config, source, backup.stdout.strip().splitlines()[-1]


def test_one_table_restores_into_another_database_with_the_rows_of_the_source(
    pg: PgServer, backed_up: tuple[Path, str, str]
) -> None:
    config, source, backup_id = backed_up
    other = pg.create_database(crm=False)

    plain = run(config, "restore", backup_id, "--table", "public.big_table", "--to", pg.url(other))
    quoted = run(config, "restore", backup_id, "--table", "Order", "--to", pg.url(other))
    schema = run(
        config, "restore", backup_id, "--table", 'sales."line.items"', "--to", pg.url(other)
    )
    as_json = run(config, "activities", "--job", "restore", "--json")

    assert plain.returncode == 0, plain.stderr
    assert "table big_table of backup" in plain.stdout
    assert "(300 rows)" in plain.stdout
    assert quoted.returncode == 0, quoted.stderr
    assert schema.returncode == 0, schema.stderr
    assert rows_of(pg, other, "public", "big_table") == rows_of(pg, source, "public", "big_table")
    assert rows_of(pg, other, "public", "Order") == rows_of(pg, source, "public", "Order")
    assert rows_of(pg, other, "sales", "line.items") == rows_of(pg, source, "sales", "line.items")
    with pg.connect(other) as connection:
        indexes = connection.execute(
            "SELECT indexrelid::regclass::text FROM pg_index "
            "WHERE indrelid IN ('public.big_table'::regclass, 'public.\"Order\"'::regclass) "
            "ORDER BY 1"
        ).fetchall()
    assert indexes == [('"Order_pkey"',), ("big_table_pkey",)]
    metas = [row["meta"] for row in json.loads(as_json.stdout)["activities"]]
    assert {(meta["table"], meta["table_rows"]) for meta in metas} == {
        ("big_table", 300),
        ("Order", 2),
        ('sales."line.items"', 50),
    }


def test_an_existing_table_is_refused_unless_replace(
    pg: PgServer, backed_up: tuple[Path, str, str]
) -> None:
    config, source, backup_id = backed_up
    other = pg.create_database(crm=True)
    with pg.connect(other) as connection:
        connection.execute("DELETE FROM big_table")

    refused = run(config, "restore", backup_id, "--table", "big_table", "--to", pg.url(other))
    rows_after_refusal = rows_of(pg, other, "public", "big_table")
    replaced = run(
        config, "restore", backup_id, "--table", "big_table", "--to", pg.url(other), "--replace"
    )

    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"backproof: error: {pg.url(other)} already has a table big_table: choose another "
        "database, or pass --replace to drop it and restore the backup's"
    ]
    assert rows_after_refusal == []
    assert replaced.returncode == 0, replaced.stderr
    assert rows_of(pg, other, "public", "big_table") == rows_of(pg, source, "public", "big_table")


def test_a_table_not_in_the_backup_and_the_live_source_are_refused(
    pg: PgServer, backed_up: tuple[Path, str, str]
) -> None:
    config, source, backup_id = backed_up
    other = pg.create_database(crm=False)
    live = pg.url(source).replace("127.0.0.1", "localhost")

    unknown = run(config, "restore", backup_id, "--table", "nope", "--to", pg.url(other))
    into_source = run(config, "restore", backup_id, "--table", "big_table", "--to", live)
    listing = json.loads(run(config, "list", "--json").stdout)

    assert unknown.returncode == 1
    assert len(unknown.stderr.strip().splitlines()) == 1
    assert "has no table 'nope'" in unknown.stderr
    assert "`backproof list --json` lists every backup's tables" in unknown.stderr
    assert listing["backups"][0]["tables"]["big_table"] == 300
    assert into_source.returncode == 1
    assert "is the database of target bptest" in into_source.stderr


def test_a_table_whose_type_the_database_lacks_fails_and_leaves_nothing(
    pg: PgServer, backed_up: tuple[Path, str, str]
) -> None:
    config, _source, backup_id = backed_up
    other = pg.create_database(crm=False)

    failed = run(config, "restore", backup_id, "--table", "companies", "--to", pg.url(other))

    assert failed.returncode == 1
    assert "postal_address" in failed.stderr
    with pg.connect(other) as connection:
        left = connection.execute("SELECT to_regclass('public.companies')").fetchone()
    assert left == (None,)
