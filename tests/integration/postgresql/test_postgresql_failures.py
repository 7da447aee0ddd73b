"""PostgreSQL backups that cannot succeed fail with one clear line, and commit nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
from pg_servers import ContextMaker, PgServer, free_port

from backproof.archive.catalog import scan_target
from backproof.errors import OperationError, PipelineError, SourceError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context

WAIT_SECONDS = 30


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
    context = make_context(f"postgresql://postgres@127.0.0.1:{free_port()}/crm")

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert str(error).startswith("cannot connect to PostgreSQL 127.0.0.1:")
    assert "\n" not in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_in_one_line_when_the_password_is_wrong(
    pg_private: PgServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = pg_private.create_database(crm=False)
    role = pg_private.create_role("správné-heslo")
    monkeypatch.setenv("BP_TEST_PASSWORD", "špatné-heslo")
    context = make_context(pg_private.url(database, role), password_env="BP_TEST_PASSWORD")

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert "password authentication failed" in str(error)
    assert "špatné-heslo" not in str(error)
    assert "\n" not in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_in_one_line_when_the_database_is_missing(
    pg: PgServer, make_context: ContextMaker
) -> None:
    context = make_context(pg.url("bp_test_missing"))

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert 'database "bp_test_missing" does not exist' in str(error)
    assert "\n" not in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_when_the_database_has_no_tables(
    pg: PgServer, make_context: ContextMaker
) -> None:
    context = make_context(pg.url(pg.create_database(crm=False)))

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert "has no tables: nothing to back up" in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_naming_a_key_table_the_database_lacks(
    pg: PgServer, make_context: ContextMaker
) -> None:
    context = make_context(pg.url(pg.create_database()), key_tables=["companies", "leads"])

    error = backup_error(context)

    assert str(error).startswith("key table leads not in PostgreSQL")
    assert_failed_and_nothing_committed(context)


def test_backup_fails_naming_what_to_install_when_pg_dump_is_missing(
    pg: PgServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    context = make_context(pg.url(pg.create_database()))
    monkeypatch.setenv("PATH", str(tmp_path))

    error = backup_error(context)

    assert str(error) == (
        "pg_dump not found on PATH: install postgresql-client (of the server's major version "
        "or newer)"
    )
    assert_failed_and_nothing_committed(context)


def test_backup_fails_naming_what_to_install_when_pg_dump_is_older_than_the_server(
    pg: PgServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    context = make_context(pg.url(pg.create_database()))
    old_tool = tmp_path / "pg_dump"
    old_tool.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n", encoding="utf-8")
    old_tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert str(error).startswith("pg_dump 9 is older than the PostgreSQL 1")
    assert "install postgresql-client-1" in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_when_pg_dump_reports_an_error(
    pg: PgServer, make_context: ContextMaker
) -> None:
    database = pg.create_database()
    role = pg.create_role("heslo")
    pg.grant(database, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}", role)
    context = make_context(pg.url(database, role), key_tables=["companies"])

    error = backup_error(context)

    # Only the key tables are counted by a query (issue 11): pg_dump is the one that fails.
    assert isinstance(error, PipelineError)
    assert "permission denied for schema sales" in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_when_pg_dump_is_killed_midway(
    pg: PgServer, make_context: ContextMaker
) -> None:
    database = pg.create_database(big_rows=1000)
    context = make_context(pg.url(database))
    errors: list[BaseException] = []

    def back_up() -> None:
        try:
            run_backup(context)
        except BaseException as error:
            errors.append(error)

    with pg.connect(database) as blocker:
        # pg_dump waits for this lock after it started streaming; the test kills it meanwhile.
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE big_table IN ACCESS EXCLUSIVE MODE")
        backup = threading.Thread(target=back_up)
        backup.start()
        dump_process = wait_for_child("pg_dump", "--snapshot")
        wait_until_blocked(dump_process)
        # Not psutil's wait(): it would reap the child before the pipeline could judge it.
        dump_process.send_signal(signal.SIGKILL)
        blocker.execute("ROLLBACK")
    backup.join(WAIT_SECONDS)

    assert len(errors) == 1
    assert isinstance(errors[0], PipelineError)
    assert str(errors[0]).splitlines()[0] == "pg_dump was killed by SIGKILL"
    assert_failed_and_nothing_committed(context)


def wait_until_blocked(process: psutil.Process) -> None:
    """Wait until ``process`` is the real tool (not Debian's wrapper script) and sleeps."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(psutil.Error):
            if "perl" not in process.cmdline()[0] and process.status() == psutil.STATUS_SLEEPING:
                return
        time.sleep(0.05)
    pytest.fail(f"{process.name()} did not block within {WAIT_SECONDS} s")


def wait_for_child(name: str, argument: str) -> psutil.Process:
    """Return the first process ``name`` run with an argument starting with ``argument``
    among this test's descendants."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                arguments = child.cmdline()
                if child.name() == name and any(item.startswith(argument) for item in arguments):
                    return child
        time.sleep(0.05)
    pytest.fail(f"{name} did not start within {WAIT_SECONDS} s")
