"""A PostgreSQL backup in two parts as a user makes and uses it, end to end through the CLI:
``backup`` of a database whose largest table is past the threshold of a second stream, then
``verify``, ``restore --to`` and ``restore --table`` of that table."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from pg_servers import PgServer
from test_postgresql_roundtrip import fingerprints, scalar

from backproof.sources.postgresql_streams import DATA_PART_MIN_BYTES
from cli_process import run_with_config as run
from cli_process import write_one_target_config

# big_table's rows take about 85 bytes each: these are well past DATA_PART_MIN_BYTES.
BIG_ROWS = 600_000
_FOREIGN_KEYS = "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated"


@pytest.mark.timeout(600)
def test_a_backup_in_two_parts_verifies_and_restores_whole_and_by_table(
    pg: PgServer, tmp_path: Path
) -> None:
    source = pg.create_database(big_rows=BIG_ROWS)
    with pg.connect(source) as connection:  # a foreign key to the table of the second part
        connection.execute("CREATE TABLE big_refs (id int PRIMARY KEY, big_id bigint)")
        connection.execute("INSERT INTO big_refs SELECT g, g * 7 FROM generate_series(1, 500) g")
        connection.execute("ALTER TABLE big_refs ADD FOREIGN KEY (big_id) REFERENCES big_table")
        connection.execute("ANALYZE")
        size = scalar(pg, source, "SELECT pg_table_size('big_table')")
    assert isinstance(size, int) and size >= DATA_PART_MIN_BYTES
    config = write_one_target_config(tmp_path, pg.url(source))
    whole = f"bp_test_{secrets.token_hex(4)}"  # created by the restore
    pg.made_databases.append(whole)
    other = pg.create_database(crm=False)

    backup = run(config, "backup")
    backup_id = backup.stdout.strip().splitlines()[-1]
    verify = run(config, "verify")
    restore = run(config, "restore", backup_id, "--to", pg.url(whole))
    table = run(config, "restore", backup_id, "--table", "big_table", "--to", pg.url(other))

    assert backup.returncode == 0, backup.stderr
    assert [path.name for path in tmp_path.rglob("db-data.pgdump*")] == ["db-data.pgdump.zst"]
    assert verify.returncode == 0, verify.stderr + verify.stdout
    assert restore.returncode == 0, restore.stderr
    assert fingerprints(pg, whole) == fingerprints(pg, source)
    assert scalar(pg, whole, _FOREIGN_KEYS) == scalar(pg, source, _FOREIGN_KEYS) == 3
    assert table.returncode == 0, table.stderr
    assert f"table big_table of backup {backup_id} restored ({BIG_ROWS:,} rows)" in table.stdout
    big = {"public.big_table": fingerprints(pg, source)["public.big_table"]}
    assert fingerprints(pg, other) == big
    assert scalar(pg, other, "SELECT to_regclass('big_table_pkey')::text") == "big_table_pkey"
