"""The CLI on PostgreSQL and MariaDB as a user runs it: backup, verify, list, restore (one
suite, run against both servers)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mariadb_server import MariaServer
from mariadb_server import shared_server as shared_mariadb
from pg_servers import PgServer
from pg_servers import shared_server as shared_postgresql

from cli_process import run_backproof

CONFIG = """\
[state]
url = "sqlite:///state/state.db"

[[targets]]
name = "bptest"
database = "{database}"
key_tables = ["companies", "contacts", "Order", "{fourth_key_table}"]

[[destinations]]
name = "local"
url = "file:backups"
"""


@dataclass
class Engine:
    """One server engine: a key table only it has, and a database of the other engine."""

    name: str
    server: PgServer | MariaServer
    fourth_key_table: str
    other_engine_url: str

    def count_rows(self, database: str, table: str) -> int:
        """Return the rows of ``table`` in ``database``, read as the administrator."""
        if isinstance(self.server, PgServer):
            with self.server.connect(database) as connection:
                row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()  # type: ignore[arg-type]
                return int(row[0]) if row else 0
        return int(self.server.execute(f"SELECT COUNT(*) FROM {table}", database=database)[0][0])


@pytest.fixture(params=["postgresql", "mariadb"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Each server engine in turn; what a test makes on it is dropped afterwards."""
    chosen = (
        Engine("postgresql", shared_postgresql(), "sales.deals", "mysql://root@127.0.0.1/bp_test_x")
        if request.param == "postgresql"
        else Engine(
            "mysql", shared_mariadb(), "audit_log", "postgresql://postgres@127.0.0.1/bp_test_x"
        )
    )
    yield chosen
    chosen.server.clean_up()


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``backproof --config CONFIG ARGS…`` as a user does."""
    return run_backproof("--config", str(config), *args, cwd=config.parent, timeout=120)


def test_backup_verify_and_restore_through_the_cli(engine: Engine, tmp_path: Path) -> None:
    source = engine.server.create_database(big_rows=5000)
    config = tmp_path / "backproof.toml"
    text = CONFIG.format(
        database=engine.server.url(source), fourth_key_table=engine.fourth_key_table
    )
    config.write_text(text, encoding="utf-8")
    restored = f"{source}_restored"
    engine.server.made_databases.append(restored)

    backup = run(config, "backup")
    verify = run(config, "verify")
    listing = run(config, "list", "--json")
    backup_id = backup.stdout.strip().splitlines()[-1].split()[-1]
    restore = run(config, "restore", backup_id, "--to", engine.server.url(restored))
    again = run(config, "restore", backup_id, "--to", engine.server.url(restored))
    forced = run(config, "restore", backup_id, "--to", engine.server.url(restored), "--force")
    other_engine = run(config, "restore", backup_id, "--to", engine.other_engine_url)

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
    assert f"{engine.name} dump" in other_engine.stderr
    assert engine.count_rows(restored, "big_table") == 5000
