"""A rewritten PostgreSQL archive against verify: the import runs as a role that owns the
scratch database and nothing else, so the SQL an attacker puts in the table of contents fails.

Each attack is a same-length edit of one ``COMMENT ON TABLE`` entry of the custom archive (the
manifest's checksums recomputed, the backup unsigned), so that pg_restore runs the attacker's
SQL as it would run the comment; verify connects as the superuser ``postgres``.
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

from pg_servers import PgServer

from cli_process import run_backproof
from dump_tampering import rewrite_db_part

CONFIG = """\
[state]
url = "sqlite:///state/state.db"

[[targets]]
name = "bptest"
database = "{database}"
key_tables = ["notes"]

[[destinations]]
name = "local"
url = "file:backups"
"""
COMMENT_TEXT = "x" * 200


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``backproof --config CONFIG ARGS…`` as a user does."""
    return run_backproof("--config", str(config), *args, cwd=config.parent, timeout=120)


def commented_source(pg: PgServer) -> str:
    """Create a source database whose table ``notes`` carries a long comment; return its name."""
    name = pg.create_database(crm=False)
    with pg.connect(name) as connection:
        connection.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
        connection.execute("INSERT INTO notes VALUES (1, 'one'), (2, 'two')")
        connection.execute(f"COMMENT ON TABLE notes IS '{COMMENT_TEXT}'")
    return name


def replace_comment(attack: str) -> bytes:
    """Return ``attack`` padded to the length of the comment's statement in the archive."""
    original = f"COMMENT ON TABLE public.notes IS '{COMMENT_TEXT}';"
    padded = f"{attack} --".ljust(len(original), "-")
    assert len(padded) == len(original)
    return padded.encode()


def verify_with_comment_replaced(pg: PgServer, tmp_path: Path, attack: str) -> str:
    """Back up, turn the comment into ``attack`` in the stored archive, verify; return stderr."""
    config = tmp_path / "backproof.toml"
    config.write_text(CONFIG.format(database=pg.url(commented_source(pg))), "utf-8")
    assert run(config, "backup").returncode == 0
    original = f"COMMENT ON TABLE public.notes IS '{COMMENT_TEXT}';".encode()

    def edit(dump: bytes) -> bytes:
        assert dump.count(original) == 1
        return dump.replace(original, replace_comment(attack))

    rewrite_db_part(tmp_path / "backups", edit)
    verify = run(config, "verify")
    assert verify.returncode == 1, verify.stdout
    assert len(verify.stderr.strip().splitlines()) == 1, verify.stderr
    return verify.stderr


def import_roles_left(pg: PgServer) -> list[str]:
    with pg.connect() as admin:
        rows = admin.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'verify_bptest%'")
        return [str(name) for (name,) in rows.fetchall()]


def test_drop_database_in_the_archive_cannot_drop_another_database(
    pg: PgServer, tmp_path: Path
) -> None:
    victim = pg.create_database(crm=False)

    error = verify_with_comment_replaced(pg, tmp_path, f'DROP DATABASE "{victim}";')

    assert "must be owner of database" in error
    with pg.connect() as admin:
        assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (victim,)).fetchone()
    assert import_roles_left(pg) == []


def test_copy_to_program_in_the_archive_runs_no_program(pg: PgServer, tmp_path: Path) -> None:
    planted = Path(f"/tmp/bp_test_{secrets.token_hex(4)}")  # noqa: S108 - where the attack aims

    error = verify_with_comment_replaced(
        pg, tmp_path, f"COPY (SELECT 1) TO PROGRAM 'touch {planted}';"
    )

    assert "pg_execute_server_program" in error
    assert not planted.exists()
    assert import_roles_left(pg) == []
