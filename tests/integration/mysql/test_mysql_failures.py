"""MariaDB backups that cannot succeed fail with one clear line, and commit nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from pathlib import Path

import psutil
import pytest
from mariadb_server import ContextMaker, MariaServer

from backproof.archive.catalog import scan_target
from backproof.errors import OperationError, PipelineError, SourceError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context

WAIT_SECONDS = 30


def free_port() -> int:
    """Return a TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_failed_and_nothing_committed(context: Context) -> None:
    """The backup left no committed backup and an audit row that says it failed."""
    assert scan_target(context.storage(), "bptest").committed == []
    assert context.activities.latest("backup", "bptest", ["failed"]) is not None


def backup_error(context: Context) -> OperationError:
    """Run a backup that must fail; return its error."""
    with pytest.raises(OperationError) as caught:
        run_backup(context)
    return caught.value


def test_backup_fails_in_one_line_when_the_server_is_down(make_context: ContextMaker) -> None:
    context = make_context(f"mysql://root@127.0.0.1:{free_port()}/crm")

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert str(error).startswith("cannot connect to MySQL/MariaDB 127.0.0.1:")
    assert "\n" not in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_in_one_line_when_the_password_is_wrong(
    maria: MariaServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = maria.create_database()
    user = maria.create_user("správné-heslo", f"GRANT SELECT ON `{database}`.* TO {{user}}")
    monkeypatch.setenv("BP_TEST_PASSWORD", "špatné-heslo")
    context = make_context(maria.url(database, user), password_env="BP_TEST_PASSWORD")

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert f"Access denied for user '{user}'" in str(error)
    assert "špatné-heslo" not in str(error)
    assert "\n" not in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_in_one_line_when_the_database_is_missing(
    maria: MariaServer, make_context: ContextMaker
) -> None:
    context = make_context(maria.url("bp_test_missing"))

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert "Unknown database 'bp_test_missing'" in str(error)
    assert "\n" not in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_when_the_database_has_no_tables(
    maria: MariaServer, make_context: ContextMaker
) -> None:
    context = make_context(maria.url(maria.create_database(crm=False)))

    error = backup_error(context)

    assert "has no tables: nothing to back up" in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_naming_a_key_table_the_database_lacks(
    maria: MariaServer, make_context: ContextMaker
) -> None:
    context = make_context(maria.url(maria.create_database()), key_tables=["companies", "leads"])

    error = backup_error(context)

    assert str(error).startswith("key table leads not in MySQL/MariaDB")
    assert_failed_and_nothing_committed(context)


def test_backup_fails_naming_what_to_install_when_no_dump_tool_is_installed(
    maria: MariaServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    context = make_context(maria.url(maria.create_database()))
    monkeypatch.setenv("PATH", str(tmp_path))

    error = backup_error(context)

    assert str(error) == (
        "mariadb-dump or mysqldump not found on PATH: install mariadb-client (or mysql-client)"
    )
    assert_failed_and_nothing_committed(context)


def test_backup_fails_naming_what_to_install_when_the_dump_tool_is_older_than_the_server(
    maria: MariaServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    context = make_context(maria.url(maria.create_database()))
    old_tool = tmp_path / "mariadb-dump"
    old_tool.write_text(
        "#!/bin/sh\necho 'mariadb-dump  Ver 10.17 Distrib 10.3.39-MariaDB, for Linux'\n",
        encoding="utf-8",
    )
    old_tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert str(error).startswith(
        "mariadb-dump (MariaDB 10.3.39) is older than the server (MariaDB 10."
    )
    assert "install mariadb-client 10." in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_when_the_dump_tool_reports_an_error(
    maria: MariaServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = maria.create_database()
    # SELECT only: no SHOW VIEW, TRIGGER nor EVENT, which the dump needs.
    user = maria.create_user("heslo", f"GRANT SELECT ON `{database}`.* TO {{user}}")
    monkeypatch.setenv("BP_TEST_PASSWORD", "heslo")
    context = make_context(maria.url(database, user), password_env="BP_TEST_PASSWORD")

    error = backup_error(context)

    assert isinstance(error, PipelineError)
    assert str(error).startswith("mariadb-dump exited with code 2: ")
    assert_failed_and_nothing_committed(context)


def test_backup_fails_when_the_dump_tool_is_killed_midway(
    maria: MariaServer, make_context: ContextMaker
) -> None:
    database = maria.create_database(big_rows=1000)
    context = make_context(maria.url(database))
    errors: list[BaseException] = []

    def back_up() -> None:
        try:
            run_backup(context)
        except BaseException as error:
            errors.append(error)

    blocker = maria.connect(database)
    try:
        with blocker.cursor() as cursor:
            # The dump waits for this lock after it started streaming; the test kills it then.
            cursor.execute("LOCK TABLES big_table WRITE")
            backup = threading.Thread(target=back_up)
            backup.start()
            dump_process = wait_for_blocked_child("mariadb-dump")
            # Not psutil's wait(): it would reap the child before the pipeline could judge it.
            dump_process.send_signal(signal.SIGKILL)
            cursor.execute("UNLOCK TABLES")
    finally:
        blocker.close()
    backup.join(WAIT_SECONDS)

    assert len(errors) == 1
    assert isinstance(errors[0], PipelineError)
    assert str(errors[0]).splitlines()[0] == "mariadb-dump was killed by SIGKILL"
    assert_failed_and_nothing_committed(context)


def wait_for_blocked_child(name: str) -> psutil.Process:
    """Return the process ``name`` among this test's descendants once it sleeps."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                is_dump = child.name() == name and "--single-transaction" in child.cmdline()
                if is_dump and child.status() == psutil.STATUS_SLEEPING:
                    return child
        time.sleep(0.05)
    pytest.fail(f"{name} did not start and block within {WAIT_SECONDS} s")
