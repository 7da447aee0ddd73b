"""Least-privileged MariaDB users with passwords that never reach a command line."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest
from mariadb_server import ContextMaker, MariaServer

from backproof.jobs.backup import run_backup
from backproof.jobs.verify import run_verify
from backproof.sources.mysql_tls import preferred_context
from backproof.sources.mysql_tools import connect
from backproof.sources.server_urls import parse_server_url
from dump_processes import BackupThread, wait_for_blocked_dump

BACKUP_PASSWORD = "zálohovací-Heslo-x7$\"'"
VERIFY_PASSWORD = "ověřovací-Heslo-q9&"


def backup_user(maria: MariaServer, database: str) -> str:
    """A user that can read the database, its routines and events, and nothing else."""
    return maria.create_user(
        BACKUP_PASSWORD,
        f"GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON `{database}`.* TO {{user}}",
        "GRANT SELECT ON mysql.proc TO {user}",
    )


def test_least_privileged_users_back_up_and_verify_with_passwords_from_the_environment(
    maria: MariaServer,
    make_context: ContextMaker,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    database = maria.create_database(big_rows=100)
    user = backup_user(maria, database)
    verifier = maria.create_user(
        VERIFY_PASSWORD, "GRANT ALL PRIVILEGES ON `verify\\_%`.* TO {user}"
    )
    monkeypatch.setenv("BP_TEST_BACKUP_PASSWORD", BACKUP_PASSWORD)
    password_file = tmp_path / "verify-password"
    password_file.write_text(VERIFY_PASSWORD + "\n", encoding="utf-8")
    context = make_context(maria.url(database, user), password_env="BP_TEST_BACKUP_PASSWORD")
    context.settings.verify.url = maria.url("", verifier).rstrip("/")
    context.settings.verify.password_file = password_file

    backup = run_backup(context)
    verify = run_verify(context)

    assert verify.backup_id == backup.backup_id
    assert verify.tables == 8
    assert verify.sampled_rows == 200


def test_password_reaches_the_dump_tool_through_a_private_file_never_its_command_line(
    maria: MariaServer, make_context: ContextMaker, tmp_path: Path
) -> None:
    database = maria.create_database()
    user = backup_user(maria, database)
    password_file = tmp_path / "backup-password"
    password_file.write_text(BACKUP_PASSWORD + "\n", encoding="utf-8")
    context = make_context(maria.url(database, user), password_file=password_file)
    blocker = maria.connect(database)
    with blocker.cursor() as cursor:
        cursor.execute("LOCK TABLES companies WRITE")
        backup = BackupThread(context).start()
        dump_process = wait_for_blocked_dump("mariadb-dump")
        arguments = dump_process.cmdline()
        command_line = Path(f"/proc/{dump_process.pid}/cmdline").read_bytes()
        environment = Path(f"/proc/{dump_process.pid}/environ").read_bytes()
        options = Path(arguments[1].removeprefix("--defaults-extra-file="))
        options_mode = stat.S_IMODE(options.stat().st_mode)
        folder_mode = stat.S_IMODE(options.parent.stat().st_mode)
        options_text = options.read_text(encoding="utf-8")
        cursor.execute("UNLOCK TABLES")
    blocker.close()
    backup.join(60)

    assert backup.errors == []
    assert BACKUP_PASSWORD.encode() not in command_line
    assert BACKUP_PASSWORD.encode() not in environment
    assert arguments[1].startswith("--defaults-extra-file=")
    assert (options_mode, folder_mode) == (0o600, 0o700)
    assert options_text == '[client]\npassword="zálohovací-Heslo-x7$\\"\'"\n'
    assert not options.exists()


def test_connections_share_one_preferred_tls_context_and_still_log_in_with_a_password(
    maria: MariaServer,
) -> None:
    database = maria.create_database()
    user = maria.create_user(VERIFY_PASSWORD, f"GRANT SELECT ON `{database}`.* TO {{user}}")
    server = parse_server_url(maria.url(database, user))

    with (
        connect(server, VERIFY_PASSWORD, database) as first,
        connect(server, VERIFY_PASSWORD, database) as second,
        second.cursor() as cursor,
    ):
        cursor.execute("SELECT CURRENT_USER()")
        (current,) = cursor.fetchone()

    # PyMySQL would build (and load the system's CA certificates into) one per connection.
    assert first.ctx is second.ctx is preferred_context()
    assert preferred_context().verify_mode == ssl.CERT_NONE
    assert current.startswith(f"{user}@")
