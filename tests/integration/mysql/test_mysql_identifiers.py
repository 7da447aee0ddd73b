"""A MariaDB table whose name holds a newline backs up and verifies through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from mariadb_server import MariaServer

from cli_process import run_backproof

CONFIG = """\
[state]
url = "sqlite:///state/state.db"

[[targets]]
name = "bptest"
database = "{database}"
key_tables = ["companies"]

[[destinations]]
name = "local"
url = "file:backups"
"""


def test_table_with_a_newline_in_its_name_backs_up_and_verifies(
    maria: MariaServer, tmp_path: Path
) -> None:
    database = maria.create_database()
    maria.execute(f"CREATE TABLE `{database}`.`new\nline` (id INT PRIMARY KEY, note VARCHAR(20))")
    maria.execute(
        f"INSERT INTO `{database}`.`new\nline` VALUES (1, 'a'), (2, 'b'), (3, 'DEFINER=`x`')"
    )
    config = tmp_path / "backproof.toml"
    config.write_text(CONFIG.format(database=maria.url(database)), encoding="utf-8")

    backup = run_backproof("--config", str(config), "backup", cwd=tmp_path, timeout=120)
    verify = run_backproof("--config", str(config), "verify", cwd=tmp_path, timeout=120)
    listing = run_backproof("--config", str(config), "list", "--json", cwd=tmp_path)

    assert backup.returncode == 0, backup.stderr
    assert verify.returncode == 0, verify.stderr
    assert json.loads(listing.stdout)["backups"][0]["verified"] is True
    (manifest,) = (tmp_path / "backups").rglob("manifest.json")
    facts = json.loads(manifest.read_text(encoding="utf-8"))["facts"]
    assert facts["tables"]["new\nline"] == 3
