"""Least-privileged users with passwords that never reach a command line (a cluster that
checks passwords)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pg_servers import ContextMaker, PgServer

from backproof.jobs.backup import run_backup
from backproof.jobs.verify import run_verify
from dump_processes import BackupThread, wait_for_blocked_dump

BACKUP_PASSWORD = "zálohovací-Heslo-" + "x7$"
VERIFY_PASSWORD = "ověřovací-Heslo-" + "q9&"
READ_LARGE_OBJECTS = """
DO $$
DECLARE object oid;
BEGIN
  FOR object IN SELECT oid FROM pg_largeobject_metadata LOOP
    EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO %I', object, '{role}');
  END LOOP;
END
$$
"""


def backup_role(server: PgServer, database: str) -> str:
    """A role that can read everything and do nothing else (what the README asks for)."""
    role = server.create_role(BACKUP_PASSWORD)
    server.grant(database, "GRANT pg_read_all_data TO {role}", role)
    with server.connect(database) as connection:
        connection.execute(READ_LARGE_OBJECTS.replace("{role}", role))  # type: ignore[arg-type]
    return role


def test_least_privileged_users_back_up_and_verify_with_passwords_from_the_environment(
    pg_private: PgServer,
    make_context: ContextMaker,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    database = pg_private.create_database(big_rows=100)
    role = backup_role(pg_private, database)
    verifier = pg_private.create_role(VERIFY_PASSWORD, "CREATEDB")
    monkeypatch.setenv("BP_TEST_BACKUP_PASSWORD", BACKUP_PASSWORD)
    password_file = tmp_path / "verify-password"
    password_file.write_text(VERIFY_PASSWORD + "\n", encoding="utf-8")
    context = make_context(pg_private.url(database, role), password_env="BP_TEST_BACKUP_PASSWORD")
    context.settings.verify.url = pg_private.url("postgres", verifier)
    context.settings.verify.password_file = password_file

    backup = run_backup(context)
    verify = run_verify(context)

    assert verify.backup_id == backup.backup_id
    assert verify.tables == 10
    assert verify.sampled_rows == 200


def test_password_reaches_pg_dump_through_its_environment_never_its_command_line(
    pg_private: PgServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = pg_private.create_database()
    role = backup_role(pg_private, database)
    monkeypatch.setenv("BP_TEST_BACKUP_PASSWORD", BACKUP_PASSWORD)
    context = make_context(pg_private.url(database, role), password_env="BP_TEST_BACKUP_PASSWORD")
    with pg_private.connect(database) as blocker:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE companies IN ACCESS EXCLUSIVE MODE")
        backup = BackupThread(context).start()
        dump_process = wait_for_blocked_dump("pg_dump")
        command_line = Path(f"/proc/{dump_process.pid}/cmdline").read_bytes()
        environment = Path(f"/proc/{dump_process.pid}/environ").read_bytes().split(b"\0")
        blocker.execute("ROLLBACK")
    backup.join(60)

    assert backup.errors == []
    assert BACKUP_PASSWORD.encode() not in command_line
    assert b"pg_dump" in command_line
    assert f"PGPASSWORD={BACKUP_PASSWORD}".encode() in environment
