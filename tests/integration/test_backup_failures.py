"""Backups of PostgreSQL and MariaDB that cannot succeed fail with one clear line, and commit
nothing: one suite, run against both servers.

Each engine says how to bring a failure about (a user with a wrong password, a dump tool that
lacks a privilege, a dump held by a lock) and what its own words for it are; the test bodies,
and what they assert, are the same for both.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mariadb_server import MariaServer
from mariadb_server import shared_server as shared_mariadb
from pg_servers import PgServer, free_port
from pg_servers import shared_server as shared_postgresql

from backproof.archive.catalog import scan_target
from backproof.errors import OperationError, PipelineError, SourceError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from dump_processes import BackupThread, wait_for_blocked_dump

ContextMaker = Callable[..., Context]


@dataclass
class Engine:
    """One server engine of the suite, and its own words for each failure."""

    name: str
    server: PgServer | MariaServer
    label: str  # how errors name the engine
    dump_tool: str
    missing_database: str  # what the server says of a database that does not exist
    wrong_password: str  # what it says of a wrong password ({user} filled in)
    missing_tool: str  # the whole line when no dump tool is installed
    old_tool_version: str  # what an old dump tool prints for --version
    old_tool_says: tuple[str, str]  # the start of the line, and the package it names
    dump_error: str  # what the line of a dump tool lacking a privilege holds

    def url(self, database: str, user: str | None = None) -> str:
        """Return the URL of ``database`` (as ``user``, else the administrator)."""
        return self.server.url(database, user) if user else self.server.url(database)


def postgresql() -> Engine:
    return Engine(
        "postgresql",
        shared_postgresql(),
        "PostgreSQL",
        "pg_dump",
        'database "bp_test_missing" does not exist',
        "password authentication failed",
        "pg_dump not found on PATH: install postgresql-client (of the server's major version "
        "or newer)",
        "pg_dump (PostgreSQL) 9.6.24",
        ("pg_dump 9 is older than the PostgreSQL 1", "install postgresql-client-1"),
        "permission denied for schema sales",
    )


def mariadb() -> Engine:
    return Engine(
        "mariadb",
        shared_mariadb(),
        "MySQL/MariaDB",
        "mariadb-dump",
        "Unknown database 'bp_test_missing'",
        "Access denied for user '{user}'",
        "mariadb-dump or mysqldump not found on PATH: install mariadb-client (or mysql-client)",
        "mariadb-dump  Ver 10.17 Distrib 10.3.39-MariaDB, for Linux",
        (
            "mariadb-dump (MariaDB 10.3.39) is older than the server (MariaDB 10.",
            "install mariadb-client 10.",
        ),
        "mariadb-dump exited with code 2: ",
    )


@pytest.fixture(params=["postgresql", "mariadb"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Each server engine in turn; what a test makes on it is dropped afterwards."""
    chosen = postgresql() if request.param == "postgresql" else mariadb()
    yield chosen
    chosen.server.clean_up()


def assert_failed_and_nothing_committed(context: Context) -> None:
    """The backup left no committed backup and an audit row that says it failed."""
    assert scan_target(context.storage(), "bptest").committed == []
    assert context.activities.latest("backup", "bptest", ["failed"]) is not None


def backup_error(context: Context) -> OperationError:
    """Run a backup that must fail; return its error."""
    with pytest.raises(OperationError) as caught:
        run_backup(context)
    return caught.value


def test_backup_fails_in_one_line_when_the_server_is_down(
    engine: Engine, make_context: ContextMaker
) -> None:
    scheme = "postgresql" if engine.name == "postgresql" else "mysql"
    context = make_context(f"{scheme}://bptest@127.0.0.1:{free_port()}/crm")

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert str(error).startswith(f"cannot connect to {engine.label} 127.0.0.1:")
    assert "\n" not in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_in_one_line_when_the_password_is_wrong(
    engine: Engine,
    make_context: ContextMaker,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    server, database, user = user_with_a_password(engine, request, "správné-heslo")
    monkeypatch.setenv("BP_TEST_PASSWORD", "špatné-heslo")
    context = make_context(server.url(database, user), password_env="BP_TEST_PASSWORD")

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert engine.wrong_password.format(user=user) in str(error)
    assert "špatné-heslo" not in str(error)
    assert "\n" not in str(error)
    assert_failed_and_nothing_committed(context)


def user_with_a_password(
    engine: Engine, request: pytest.FixtureRequest, password: str
) -> tuple[PgServer | MariaServer, str, str]:
    """Return a server that checks passwords, a database on it, and a user of ``password``
    (the shared PostgreSQL trusts loopback: its private cluster checks them)."""
    if isinstance(engine.server, PgServer):
        cluster: PgServer = request.getfixturevalue("pg_cluster")
        request.addfinalizer(cluster.clean_up)
        return cluster, cluster.create_database(crm=False), cluster.create_role(password)
    database = engine.server.create_database()
    user = engine.server.create_user(password, f"GRANT SELECT ON `{database}`.* TO {{user}}")
    return engine.server, database, user


def test_backup_fails_in_one_line_when_the_database_is_missing(
    engine: Engine, make_context: ContextMaker
) -> None:
    context = make_context(engine.url("bp_test_missing"))

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert engine.missing_database in str(error)
    assert "\n" not in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_when_the_database_has_no_tables(
    engine: Engine, make_context: ContextMaker
) -> None:
    context = make_context(engine.url(engine.server.create_database(crm=False)))

    error = backup_error(context)

    assert isinstance(error, SourceError)
    assert "has no tables: nothing to back up" in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_naming_a_key_table_the_database_lacks(
    engine: Engine, make_context: ContextMaker
) -> None:
    database = engine.server.create_database()
    context = make_context(engine.url(database), key_tables=["companies", "leads"])

    error = backup_error(context)

    assert str(error).startswith(f"key table leads not in {engine.label}")
    assert_failed_and_nothing_committed(context)


def test_backup_fails_naming_what_to_install_when_no_dump_tool_is_installed(
    engine: Engine, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    context = make_context(engine.url(engine.server.create_database()))
    monkeypatch.setenv("PATH", str(tmp_path))

    error = backup_error(context)

    assert str(error) == engine.missing_tool
    assert_failed_and_nothing_committed(context)


def test_backup_fails_naming_what_to_install_when_the_dump_tool_is_older_than_the_server(
    engine: Engine, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    context = make_context(engine.url(engine.server.create_database()))
    old_tool = tmp_path / engine.dump_tool
    old_tool.write_text(f"#!/bin/sh\necho '{engine.old_tool_version}'\n", encoding="utf-8")
    old_tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")

    error = backup_error(context)

    assert isinstance(error, SourceError)
    starts, package = engine.old_tool_says
    assert str(error).startswith(starts)
    assert package in str(error)
    assert_failed_and_nothing_committed(context)


def test_backup_fails_when_the_dump_tool_reports_an_error(
    engine: Engine, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = engine.server.create_database()
    user = user_the_dump_tool_fails_for(engine, database)
    monkeypatch.setenv("BP_TEST_PASSWORD", "heslo")
    context = make_context(
        engine.url(database, user), key_tables=["companies"], password_env="BP_TEST_PASSWORD"
    )

    error = backup_error(context)

    # Only the key tables are counted by a query (issue 11): the dump tool is the one that fails.
    assert isinstance(error, PipelineError)
    assert engine.dump_error in str(error)
    assert_failed_and_nothing_committed(context)


def user_the_dump_tool_fails_for(engine: Engine, database: str) -> str:
    """Return a user (password ``heslo``) who may read the key tables but not all the dump
    needs: on PostgreSQL no schema ``sales``; on MariaDB no SHOW VIEW, TRIGGER nor EVENT."""
    if isinstance(engine.server, PgServer):
        role = engine.server.create_role("heslo")
        engine.server.grant(database, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}", role)
        return role
    return engine.server.create_user("heslo", f"GRANT SELECT ON `{database}`.* TO {{user}}")


def test_backup_fails_when_the_dump_tool_is_killed_midway(
    engine: Engine, make_context: ContextMaker
) -> None:
    database = engine.server.create_database(big_rows=1000)
    context = make_context(engine.url(database))

    # The dump waits for a lock after it started streaming; the test kills it meanwhile.
    with big_table_locked(engine, database):
        backup = BackupThread(context).start()
        # Not psutil's wait(): it would reap the child before the pipeline could judge it.
        wait_for_blocked_dump(engine.dump_tool).send_signal(signal.SIGKILL)
    backup.join()

    assert len(backup.errors) == 1
    assert isinstance(backup.errors[0], PipelineError)
    assert str(backup.errors[0]).splitlines()[0] == f"{engine.dump_tool} was killed by SIGKILL"
    assert_failed_and_nothing_committed(context)


@contextlib.contextmanager
def big_table_locked(engine: Engine, database: str) -> Iterator[None]:
    """Hold a lock on ``big_table`` that the dump waits for, until the block ends."""
    if isinstance(engine.server, PgServer):
        with engine.server.connect(database) as blocker:
            blocker.execute("BEGIN")
            blocker.execute("LOCK TABLE big_table IN ACCESS EXCLUSIVE MODE")
            yield
            blocker.execute("ROLLBACK")
        return
    blocker = engine.server.connect(database)
    try:
        with blocker.cursor() as cursor:
            cursor.execute("LOCK TABLES big_table WRITE")
            yield
            cursor.execute("UNLOCK TABLES")
    finally:
        blocker.close()
