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
name = "{target}"
database = "{database}"
key_tables = ["notes"]

[[destinations]]
name = "local"
url = "file:backups"

# The rewritten dump is unsigned: accepted, so that only the import's own layer stands.
[encryption]
allow_unsigned = true
"""
COMMENT_TEXT = "x" * 200
# A target name of this module's own: its scratch databases and import roles are told apart
# from those of other runs on the same server.
TARGET = f"bptest{secrets.token_hex(3)}"


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
    config.write_text(CONFIG.format(target=TARGET, database=pg.url(commented_source(pg))), "utf-8")
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
        rows = admin.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"verify_{TARGET}%",)
        )
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


def verify_as(pg: PgServer, tmp_path: Path, role: str) -> subprocess.CompletedProcess[str]:
    """Back up a source as postgres, then verify with ``verify.url`` naming ``role``."""
    config = tmp_path / "backproof.toml"
    text = CONFIG.format(target=TARGET, database=pg.url(commented_source(pg)))
    text += f'\n[verify]\nurl = "{pg.url("postgres", user=role)}"\n'
    config.write_text(text, "utf-8")
    assert run(config, "backup").returncode == 0
    return run(config, "verify")


def test_a_verify_user_that_may_only_create_databases_imports_as_itself(
    pg: PgServer, tmp_path: Path
) -> None:
    role = pg.create_role("unused", "CREATEDB")

    verify = verify_as(pg, tmp_path, role)

    assert verify.returncode == 0, verify.stderr
    assert import_roles_left(pg) == []


def test_a_verify_user_that_may_run_programs_is_refused(pg: PgServer, tmp_path: Path) -> None:
    role = pg.create_role("unused", "CREATEDB")
    with pg.connect() as admin:
        admin.execute(f'GRANT pg_execute_server_program TO "{role}"')

    verify = verify_as(pg, tmp_path, role)

    assert verify.returncode == 1
    assert f"the verify user {role}" in verify.stderr
    assert "member of pg_execute_server_program" in verify.stderr
    assert "setup verify-user --print" in verify.stderr
