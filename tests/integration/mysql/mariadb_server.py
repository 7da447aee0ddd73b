"""The MariaDB server of the tests, on 127.0.0.1:3306 (root without a password).

Every database and user a test makes is named ``bp_test_…`` and dropped afterwards.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
import pytest

from backproof.jobs.context import Context
from scratch_databases import is_another_live_run

# A fixture that makes a job context for a test's own settings.
ContextMaker = Callable[..., Context]

CRM_SQL = Path(__file__).with_name("crm_mariadb.sql")
WAIT_SECONDS = 30
# The statements of a database waiting for a table's lock.
_WAITING = (
    "SELECT INFO FROM information_schema.PROCESSLIST WHERE DB = %s AND INFO LIKE %s "
    "AND STATE LIKE 'Waiting for table%%' ORDER BY INFO"
)


@dataclass
class MariaServer:
    """The machine's MariaDB, administered as root."""

    host: str = "127.0.0.1"
    port: int = 3306
    made_databases: list[str] = field(default_factory=list)
    made_users: list[str] = field(default_factory=list)

    def url(self, database: str, user: str = "root", password: str | None = None) -> str:
        """Return a backproof URL of ``database`` (with a password only when given)."""
        secret = f":{password}" if password else ""
        return f"mysql://{user}{secret}@{self.host}:{self.port}/{database}"

    def connect(self, database: str | None = None) -> Any:
        """Return an autocommit root connection in utf8mb4."""
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user="root",
            database=database,
            charset="utf8mb4",
            autocommit=True,
        )

    def execute(self, statement: str, parameters: Any = None, database: str | None = None) -> Any:
        """Run one statement as root; return its rows."""
        connection = self.connect(database)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, parameters)
                return cursor.fetchall()
        finally:
            connection.close()

    def create_database(self, *, crm: bool = True, big_rows: int = 0) -> str:
        """Create a database (with the CRM and ``big_rows`` rows in big_table); return its name."""
        name = f"bp_test_{secrets.token_hex(4)}"
        self.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        self.made_databases.append(name)
        if crm:
            self.run_sql(name, CRM_SQL.read_text(encoding="utf-8"))
            if big_rows:
                self.execute(
                    "INSERT INTO big_table SELECT seq, CONCAT('řádek ', seq, ' ', MD5(seq)) "
                    f"FROM seq_1_to_{int(big_rows)}",
                    database=name,
                )
        return name

    def run_sql(self, database: str, script: str) -> None:
        """Run a script with the mariadb client (it knows DELIMITER)."""
        finished = subprocess.run(
            [
                "mariadb",
                "--default-character-set=utf8mb4",
                "-h",
                self.host,
                "-P",
                str(self.port),
                "-u",
                "root",
                database,
            ],
            input=script,
            capture_output=True,
            text=True,
            check=False,
        )
        assert finished.returncode == 0, finished.stderr

    def wait_for_waiting(self, database: str, statement: str, count: int) -> list[str]:
        """Return the statements of ``database`` that start with ``statement`` and wait for a
        table's lock (one the test holds), in order, once ``count`` of them wait."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            rows = self.execute(_WAITING, (database, statement + "%"))
            if len(rows) >= count:
                return [str(row[0]) for row in rows]
            time.sleep(0.05)
        pytest.fail(f"{count} statements {statement}… did not wait within {WAIT_SECONDS} s")

    def create_user(self, password: str, *grants: str) -> str:
        """Create a user with ``password`` and ``grants`` (``{user}`` filled in)."""
        name = f"bp_test_{secrets.token_hex(4)}"
        self.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED BY %s", (password,))
        self.made_users.append(name)
        for grant in grants:
            self.execute(grant.replace("{user}", f"'{name}'@'%'"))
        return name

    def clean_up(self) -> None:
        """Drop what the tests made, and the marked scratch databases of the tests' target but
        those of another test run (or test worker) still going on the shared server.

        A scratch without its marker yet is left alone: a verify on another worker is making it
        (the marker table follows CREATE DATABASE); the tests' own lookalikes are dropped as
        ``made_databases``.
        """
        for (name,) in self.execute("SHOW DATABASES LIKE 'verify\\\\_bptest\\\\_%'"):
            marker = self._marker_of(name)
            if marker is not None and not is_another_live_run(marker):
                self.execute(f"DROP DATABASE IF EXISTS `{name}`")
        statements = [f"DROP DATABASE IF EXISTS `{name}`" for name in self.made_databases]
        statements += [f"DROP USER IF EXISTS '{name}'@'%'" for name in self.made_users]
        self.made_databases.clear()
        self.made_users.clear()
        failed = []
        for statement in statements:  # every one tried, even after one failed
            try:
                self.execute(statement)
            except pymysql.MySQLError as exc:
                failed.append(f"{statement}: {exc}")
        assert not failed, "the test's clean-up failed: " + "; ".join(failed)

    def _marker_of(self, database: str) -> str | None:
        try:
            rows = self.execute(f"SELECT marker FROM `{database}`.`_backproof_verify_marker`")
        except pymysql.MySQLError:
            return None
        return str(rows[0][0]) if rows else None


def shared_server() -> MariaServer:
    """Return the machine's server; fail the test with what to do when it is down."""
    server = MariaServer()
    try:
        server.connect().close()
    except pymysql.MySQLError as exc:
        pytest.fail(
            "MariaDB is not running on 127.0.0.1:3306 (start it: scripts/ensure-services.sh): "
            f"{exc}"
        )
    return server
