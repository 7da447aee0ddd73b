"""The PostgreSQL servers of the tests: the machine's server on 127.0.0.1:5432 (trust
authentication) and, for what needs passwords checked, a private cluster of the session.

Every database and role a test makes is named ``bp_test_…`` and dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from backproof.jobs.context import Context
from scratch_databases import is_another_live_run

# A fixture that makes a job context for a test's own settings.
ContextMaker = Callable[..., Context]

SHARED_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CRM_SQL = Path(__file__).with_name("crm_postgresql.sql")
BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
ADMIN_PASSWORD = "Admin-heslo-ř-" + secrets.token_hex(4)


@dataclass
class PgServer:
    """A PostgreSQL server the tests administer as a superuser."""

    host: str
    port: int
    admin_password: str | None = None
    made_databases: list[str] = field(default_factory=list)
    made_roles: list[str] = field(default_factory=list)

    def url(self, database: str, user: str = "postgres", password: str | None = None) -> str:
        """Return a backproof URL of ``database`` (with a password only when given)."""
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """Return an autocommit superuser connection."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user="postgres",
            password=self.admin_password,
            dbname=database,
            autocommit=True,
        )

    def create_database(self, *, crm: bool = True, big_rows: int = 0) -> str:
        """Create a database (with the CRM and ``big_rows`` rows in big_table); return its name."""
        name = f"bp_test_{secrets.token_hex(4)}"
        with self.connect() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.made_databases.append(name)
        if crm:
            with self.connect(name) as connection:
                connection.execute(CRM_SQL.read_text(encoding="utf-8"))  # type: ignore[arg-type]
                connection.execute(
                    "INSERT INTO big_table SELECT g, 'řádek ' || g || ' ' || md5(g::text) "
                    "FROM generate_series(1, %s) AS g",
                    (big_rows,),
                )
                connection.execute("VACUUM ANALYZE")
        return name

    def create_role(self, password: str, options: str = "") -> str:
        """Create a login role with ``password`` (and role ``options`` such as CREATEDB)."""
        name = f"bp_test_{secrets.token_hex(4)}"
        with self.connect() as admin:
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} " + options).format(  # type: ignore[operator]
                    sql.Identifier(name), sql.Literal(password)
                )
            )
        self.made_roles.append(name)
        return name

    def grant(self, database: str, statement: str, role: str) -> None:
        """Run one GRANT-like statement in ``database`` with ``{role}`` filled in."""
        with self.connect(database) as connection:
            connection.execute(sql.SQL(statement).format(role=sql.Identifier(role)))  # type: ignore[arg-type]

    def clean_up(self) -> None:
        """Drop what the tests made."""
        with self.connect() as admin:
            for name in self.made_databases:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            rows = admin.execute(
                "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname LIKE 'verify\\_%%' "
                "AND shobj_description(oid, 'pg_database') LIKE 'backproof-verify%%'"
            ).fetchall()
            for name, marker in rows:
                # Another test run still going on the shared server keeps its own.
                if "_bptest" in name and not is_another_live_run(marker):
                    admin.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
            for role in self.made_roles:
                for (database,) in admin.execute(
                    "SELECT datname FROM pg_database WHERE datallowconn"
                ).fetchall():
                    self._drop_owned(database, role)
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        self.made_databases.clear()
        self.made_roles.clear()

    def _drop_owned(self, database: str, role: str, attempts: int = 3) -> None:
        """Drop what ``role`` owns in ``database``, unless the database is dropped meanwhile:
        the server is shared with other runs and workers, whose ``DROP DATABASE … WITH (FORCE)``
        ends this connection; the next attempt then cannot connect, and there is nothing left."""
        for attempt in range(attempts):
            try:
                connection = self.connect(database)
            except psycopg.OperationalError:
                return  # dropped meanwhile
            try:
                with connection:
                    connection.execute(
                        sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role))
                    )
            except psycopg.OperationalError:
                if attempt == attempts - 1:
                    raise
                continue  # ended by a forced drop of the database: connect again to see
            return


def shared_server() -> PgServer:
    """Return the machine's server; fail the test with what to do when it is down."""
    server = PgServer("127.0.0.1", 5432)
    try:
        server.connect().close()
    except psycopg.OperationalError as exc:
        pytest.fail(
            "PostgreSQL is not running on 127.0.0.1:5432 (start it: scripts/ensure-services.sh): "
            f"{exc}".strip()
        )
    return server


def free_port() -> int:
    """Return a TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrivateCluster:
    """A throw-away cluster with scram-sha-256 passwords checked on loopback."""

    folder: Path
    server: PgServer

    @classmethod
    def start(cls, settings: tuple[str, ...] = ()) -> PrivateCluster:
        """Create and start it (as the ``postgres`` system user when run as root), with more
        server ``settings`` (``name=value``) when given."""
        if not BIN_DIRS:
            pytest.fail("PostgreSQL server binaries not found under /usr/lib/postgresql")
        binaries = BIN_DIRS[-1]
        folder = Path(tempfile.mkdtemp(prefix="bp-pgauth-"))
        as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
            as_owner = ["runuser", "-u", "postgres", "--"]
        password_file = folder / "password"
        password_file.write_text(ADMIN_PASSWORD + "\n", encoding="utf-8")
        if as_owner:
            shutil.chown(password_file, "postgres")
        port = free_port()
        data = folder / "data"
        commands = [
            [
                *as_owner,
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-A",
                "scram-sha-256",
                f"--pwfile={password_file}",
                "-U",
                "postgres",
                "-N",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            [
                *as_owner,
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                " ".join(
                    [f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"]
                    + [f"-c {setting}" for setting in settings]
                ),
                "-l",
                str(folder / "log"),
                "-w",
                "start",
            ],
        ]
        for command in commands:
            finished = subprocess.run(command, capture_output=True, text=True, check=False)
            if finished.returncode != 0:
                pytest.fail(f"cannot start a private PostgreSQL cluster: {finished.stderr.strip()}")
        return cls(folder, PgServer("127.0.0.1", port, admin_password=ADMIN_PASSWORD))

    def stop(self) -> None:
        """Stop it and delete its folder."""
        as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [
                *as_owner,
                str(BIN_DIRS[-1] / "pg_ctl"),
                "-D",
                str(self.folder / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def private_cluster(settings: tuple[str, ...] = ()) -> Iterator[PgServer]:
    """Yield the server of a private cluster (with more server ``settings``), stopped
    afterwards."""
    cluster = PrivateCluster.start(settings)
    try:
        yield cluster.server
    finally:
        cluster.stop()
