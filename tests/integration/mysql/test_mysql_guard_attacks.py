"""A rewritten MariaDB dump against verify: the statement guard stops what reaches beyond.

Each attack appends statements to a stored dump and recomputes the manifest's checksums, as
someone with write access to the destination can; the backups are unsigned, so the guard is
the layer that stands. Each attack has victims of its own, which must come out intact.
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

from mariadb_server import MariaServer

from cli_process import run_backproof
from dump_tampering import rewrite_db_part

CONFIG = """\
[state]
url = "sqlite:///state/state.db"

[[targets]]
name = "bptest"
database = "{database}"

[[destinations]]
name = "local"
url = "file:backups"

# The rewritten dump is unsigned: accepted, so that only the import's own layer stands.
[encryption]
allow_unsigned = true
"""


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``backproof --config CONFIG ARGS…`` as a user does."""
    return run_backproof("--config", str(config), *args, cwd=config.parent, timeout=120)


def victim_database(maria: MariaServer) -> str:
    """Create a database of the test holding the table ``precious`` with one row."""
    name = maria.create_database(crm=False)
    maria.execute(f"CREATE TABLE `{name}`.precious (id INT PRIMARY KEY)")
    maria.execute(f"INSERT INTO `{name}`.precious VALUES (7)")
    return name


def verify_rewritten(maria: MariaServer, tmp_path: Path, appended: str) -> str:
    """Back up a CRM database, append ``appended`` to the stored dump, verify; return stderr."""
    config = tmp_path / "backproof.toml"
    config.write_text(CONFIG.format(database=maria.url(maria.create_database())), "utf-8")
    assert run(config, "backup").returncode == 0
    rewrite_db_part(tmp_path / "backups", lambda dump: dump + appended.encode())

    verify = run(config, "verify")

    assert verify.returncode == 1, verify.stdout
    assert len(verify.stderr.strip().splitlines()) == 1, verify.stderr
    return verify.stderr


def precious_rows(maria: MariaServer, database: str) -> tuple[tuple[int], ...]:
    rows: tuple[tuple[int], ...] = maria.execute("SELECT id FROM precious", database=database)
    return rows


def test_appended_drop_database_of_another_database_is_refused(
    maria: MariaServer, tmp_path: Path
) -> None:
    victim = victim_database(maria)

    error = verify_rewritten(maria, tmp_path, f"DROP DATABASE `{victim}`;\n")

    assert "DROP DATABASE at line" in error
    assert precious_rows(maria, victim) == ((7,),)


def test_appended_drop_table_in_a_third_database_is_refused(
    maria: MariaServer, tmp_path: Path
) -> None:
    victim = victim_database(maria)

    error = verify_rewritten(maria, tmp_path, f"DROP TABLE IF EXISTS `{victim}`.`precious`;\n")

    assert "DROP TABLE of another database at line" in error
    assert precious_rows(maria, victim) == ((7,),)


def test_appended_create_database_is_refused(maria: MariaServer, tmp_path: Path) -> None:
    created = f"bp_test_{secrets.token_hex(4)}"
    maria.made_databases.append(created)

    error = verify_rewritten(maria, tmp_path, f"CREATE DATABASE `{created}`;\n")

    assert "CREATE DATABASE at line" in error
    assert maria.execute("SHOW DATABASES LIKE %s", (created,)) == ()


def test_appended_select_into_outfile_is_refused(maria: MariaServer, tmp_path: Path) -> None:
    written = f"/tmp/bp_test_{secrets.token_hex(4)}.txt"  # noqa: S108 - where the attack aims

    error = verify_rewritten(maria, tmp_path, f"SELECT 'owned' INTO OUTFILE '{written}';\n")

    assert "INTO OUTFILE at line" in error
    assert not Path(written).exists()


def test_statement_hidden_in_the_rows_is_refused(maria: MariaServer, tmp_path: Path) -> None:
    victim = victim_database(maria)

    def hide(dump: bytes) -> bytes:
        head, _, tail = dump.partition(b"UNLOCK TABLES;\n")
        return head + f"DROP DATABASE `{victim}`;\n".encode() + b"UNLOCK TABLES;\n" + tail

    config = tmp_path / "backproof.toml"
    config.write_text(CONFIG.format(database=maria.url(maria.create_database())), "utf-8")
    assert run(config, "backup").returncode == 0
    rewrite_db_part(tmp_path / "backups", hide)

    verify = run(config, "verify")

    assert verify.returncode == 1
    assert "'DROP' among the rows at line" in verify.stderr
    assert precious_rows(maria, victim) == ((7,),)


def test_verify_passes_as_the_user_setup_verify_user_prints(
    maria: MariaServer, tmp_path: Path
) -> None:
    config = tmp_path / "backproof.toml"
    config.write_text(CONFIG.format(database=maria.url(maria.create_database())), "utf-8")
    printed = run(config, "setup", "verify-user", "--print", "--user", "bp_test_verify_user")
    maria.made_users.append("bp_test_verify_user")
    statements = [line for line in printed.stdout.splitlines() if line.endswith(";")]
    for statement in statements:
        maria.execute(statement.replace("'127.0.0.1'", "'%'"))
    password = printed.stdout.split("VERIFY_DB_PASSWORD=")[1].split()[0]
    with config.open("a", encoding="utf-8") as settings:
        settings.write(
            '\n[verify]\nurl = "mysql://bp_test_verify_user@127.0.0.1:3306"\n'
            'password_env = "VERIFY_DB_PASSWORD"\n'
        )

    assert run(config, "backup").returncode == 0
    verify = run_backproof(
        "--config",
        str(config),
        "verify",
        cwd=tmp_path,
        env={"VERIFY_DB_PASSWORD": password},
        timeout=120,
    )

    assert printed.returncode == 0, printed.stderr
    assert len(statements) == 2
    assert verify.returncode == 0, verify.stderr
    grants = maria.execute("SHOW GRANTS FOR 'bp_test_verify_user'@'%'")
    assert not any("FILE" in row[0] or "SUPER" in row[0] for row in grants)
