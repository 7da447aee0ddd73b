"""The real processes of the fleet tests: a private Redis broker (so that a test may stop and
restart it), a PostgreSQL state database, configurations of many small targets, and workers
started as a user starts them (``backproof worker``), killed however a test needs."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import sqlalchemy as sa
from psycopg import sql

from cli_process import clean_environment


def free_port() -> int:
    """Return a loopback port that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
REDIS_SERVER = "/usr/bin/redis-server"
RABBITMQCTL = "/usr/sbin/rabbitmqctl"


@dataclass
class RedisBroker:
    """A redis-server of the test on a free loopback port, persisting to its folder."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the broker URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (again) and wait until it answers."""
        if not Path(REDIS_SERVER).is_file():
            pytest.fail(f"{REDIS_SERVER} is missing: scripts/install-system-deps.sh installs it")
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = [
            REDIS_SERVER,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.folder),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--protected-mode",
            "yes",
        ]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.answers, f"redis-server on port {self.port}")

    def answers(self) -> bool:
        """Return True when the server answers PING."""
        try:
            with socket_to(self.port) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def keys(self, pattern: str) -> list[bytes]:
        """Return the keys matching ``pattern``."""
        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            return sorted(client.keys(pattern))
        finally:
            client.close()

    def stop(self) -> None:
        """Stop the server (it writes its append-only file first)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None


def socket_to(port: int) -> socket.socket:
    """Return a connected loopback socket."""
    return socket.create_connection(("127.0.0.1", port), timeout=2)


@dataclass
class StateDatabase:
    """A PostgreSQL database of the test holding the fleet's shared state."""

    name: str = field(default_factory=lambda: f"bp_test_{secrets.token_hex(4)}")
    extra_databases: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Return backproof's URL of it."""
        return f"postgresql://postgres@127.0.0.1:5432/{self.name}"

    def create(self) -> None:
        """Create the database."""
        with psycopg.connect(**PG_ADMIN, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        """Drop the database and the targets' databases made with it, ending their sessions."""
        with psycopg.connect(**PG_ADMIN, autocommit=True) as admin:
            for name in [self.name, *self.extra_databases]:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self.extra_databases.clear()

    def count_live_workers(self) -> int:
        """Return how many workers wrote a heartbeat and did not stop (0 before migrations)."""
        try:
            return len(self.rows("SELECT name FROM ops_workers WHERE stopped_at IS NULL"))
        except sa.exc.ProgrammingError:
            return 0

    def rows(self, query: str) -> list[sa.Row[Any]]:
        """Return the rows of ``query`` on the state database."""
        engine = sa.create_engine(self.url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as connection:
                return list(connection.execute(sa.text(query)))
        finally:
            engine.dispose()


def make_sqlite_target(folder: Path, name: str, rows: int = 200) -> str:
    """Create a small SQLite database with two key tables; return its config block."""
    path = folder / f"{name}.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT)")
        connection.executemany(
            "INSERT INTO companies VALUES (?, ?)", [(i, f"firma {i} ř") for i in range(rows)]
        )
        connection.executemany(
            "INSERT INTO contacts VALUES (?, ?)", [(i, f"c{i}@example.com") for i in range(rows)]
        )
    return f'[[targets]]\nname = "{name}"\ndatabase = "sqlite:///{path}"\n'


def make_sqlite_targets(folder: Path, count: int) -> list[str]:
    """Create ``count`` small SQLite databases (shop000, shop001, …) in ``folder/dbs``; return
    their config blocks."""
    (folder / "dbs").mkdir()
    return [make_sqlite_target(folder / "dbs", f"shop{index:03d}") for index in range(count)]


def make_postgresql_target(state: StateDatabase, name: str, rows: int = 2000) -> str:
    """Create a small PostgreSQL database (dropped with ``state``); return its config block."""
    database = f"{state.name}_{name}"
    with psycopg.connect(**PG_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    state.extra_databases.append(database)
    with psycopg.connect(**{**PG_ADMIN, "dbname": database}, autocommit=True) as connection:
        connection.execute("CREATE TABLE companies (id int PRIMARY KEY, name text)")
        connection.execute("CREATE TABLE contacts (id int PRIMARY KEY, email text)")
        connection.execute(
            "INSERT INTO companies SELECT g, 'firma ' || g FROM generate_series(1, %s) g", (rows,)
        )
        connection.execute(
            "INSERT INTO contacts SELECT g, 'c' || g || '@example.com' "
            "FROM generate_series(1, %s) g",
            (rows,),
        )
    return f'[[targets]]\nname = "{name}"\ndatabase = "postgresql://postgres@127.0.0.1:5432/{database}"\n'


def write_config(
    folder: Path, state_url: str, broker_url: str, targets: list[str], queue_extra: str = ""
) -> Path:
    """Write a fleet config with the given target blocks; return its path."""
    text = "\n".join(
        [
            f'[state]\nurl = "{state_url}"\nlock_wait_seconds = 120\n',
            *targets,
            f'[[destinations]]\nname = "local"\nurl = "file://{folder / "backups"}"\n',
            f'[report]\noutput = "{folder / "report.md"}"\n',
            f'[queue]\nbroker_url = "{broker_url}"\nheartbeat_seconds = 1\n{queue_extra}',
        ]
    )
    path = folder / "backproof.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Workers:
    """``backproof worker`` processes started by a test, each in a process group of its own."""

    config: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def temporary(self) -> Path:
        """The TMPDIR of the workers: their temporary folders stay in the test's folder."""
        return self.config.parent / "tmp"

    def roots(self, name: str) -> list[Path]:
        """The temporary roots (``backproof-worker-<pid>-…``) of the worker called ``name``."""
        return sorted(self.temporary.glob(f"backproof-worker-{self.processes[name].pid}-*"))

    def start(self, name: str, *options: str) -> subprocess.Popen[bytes]:
        """Start a worker called ``name``."""
        self.temporary.mkdir(parents=True, exist_ok=True)
        with (self.config.parent / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "backproof",
                    "--config",
                    str(self.config),
                    "worker",
                    "--name",
                    name,
                    *options,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_environment() | {"TMPDIR": str(self.temporary)},
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def kill(self, name: str, signal_number: int = signal.SIGKILL) -> None:
        """Send ``signal_number`` to the worker's whole process group (main and pool)."""
        os.killpg(self.processes[name].pid, signal_number)

    def wait_ready(self, state: StateDatabase, count: int) -> None:
        """Wait until ``count`` workers wrote a heartbeat."""
        wait_until(lambda: state.count_live_workers() >= count, f"{count} workers", seconds=60)

    def stop_all(self) -> None:
        """Kill every worker still running and reap it."""
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def rabbitmq_vhost() -> Iterator[str]:
    """Yield an AMQP URL of a vhost of its own on the machine's RabbitMQ; delete it afterwards."""
    if shutil.which("rabbitmqctl") is None and not Path(RABBITMQCTL).is_file():
        pytest.fail("rabbitmqctl is missing: the machine's RabbitMQ (5672) is needed")
    vhost = f"bp_test_{secrets.token_hex(4)}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, timeout=60)
    try:
        subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
            check=True,
            timeout=60,
        )
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False, timeout=60)


def wait_until(condition: Any, what: str, seconds: float = 60) -> None:
    """Poll ``condition`` every 50 ms; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.05)


def start_joining_submit(config: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    """Start the user's ``submit … --wait`` (``options``: the job and more) in the config's
    folder; return the process and the first line it printed (``already queued: …`` when it
    joined a pending job) once printed, so that a test starts the worker only after it."""
    waiting = subprocess.Popen(
        [sys.executable, "-m", "backproof", "--config", str(config), "submit", *options, "--wait"],
        cwd=config.parent,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert waiting.stderr is not None
    return waiting, waiting.stderr.readline()
