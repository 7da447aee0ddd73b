"""The CLI on PostgreSQL as a user runs it: backup, verify, list, restore."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pg_servers import PgServer

from cli_process import run_backproof

CONFIG = """\
[state]
url = "sqlite:///state/state.db"

[[targets]]
name = "bptest"
database = "{database}"
key_tables = ["companies", "contacts", "Order", "sales.deals"]

[[destinations]]
name = "local"
url = "file:backups"
"""


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``backproof --config CONFIG ARGS…`` as a user does."""
    return run_backproof("--config", str(config), *args, cwd=config.parent, timeout=120)


def test_backup_verify_and_restore_through_the_cli(pg: PgServer, tmp_path: Path) -> None:
    source = pg.create_database(big_rows=5000)
    config = tmp_path / "backproof.toml"
    config.write_text(CONFIG.format(database=pg.url(source)), encoding="utf-8")
    restored = f"{source}_restored"
    pg.made_databases.append(restored)

    backup = run(config, "backup")
    verify = run(config, "verify")
    listing = run(config, "list", "--json")
    backup_id = backup.stdout.strip().splitlines()[-1].split()[-1]
    restore = run(config, "restore", backup_id, "--to", pg.url(restored))
    again = run(config, "restore", backup_id, "--to", pg.url(restored))
    forced = run(config, "restore", backup_id, "--to", pg.url(restored), "--force")
    other_engine = run(config, "restore", backup_id, "--to", "mysql://root@127.0.0.1/bp_test_x")

    assert backup.returncode == 0, backup.stderr
    assert verify.returncode == 0, verify.stderr
    assert json.loads(listing.stdout)["backups"][0]["id"] == backup_id
    assert json.loads(listing.stdout)["backups"][0]["verified"] is True
    assert restore.returncode == 0, restore.stderr
    assert again.returncode == 1
    assert "is not empty" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert forced.returncode == 0, forced.stderr
    assert other_engine.returncode == 1
    assert "postgresql dump" in other_engine.stderr
    with pg.connect(restored) as connection:
        row = connection.execute("SELECT count(*) FROM big_table").fetchone()
    assert row == (5000,)
