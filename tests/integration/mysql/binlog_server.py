"""A private MariaDB server with binary logging on, as a primary with replicas has it.

The shared server (127.0.0.1:3306) logs no binary and must not be restarted, so the tests of
binary logging start their own ``mariadbd``: a data folder made by ``mariadb-install-db`` in a
temporary folder, loopback only, a free port, ``--log-bin``; root without a password, and the
grant tables kept (the tests make a least-privilege verify user). It is stopped and its folder
removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest
from mariadb_server import MariaServer

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
SERVER_SEARCH_PATH = f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/local/sbin"


@dataclass
class BinlogServer(MariaServer):
    """A private MariaDB that writes a binary log, administered as root."""

    def binary_log_position(self) -> tuple[str, int]:
        """Return the binary log file being written and the position of its end."""
        file_name, position = self.execute("SHOW MASTER STATUS")[0][:2]
        return str(file_name), int(position)

    def binary_log_events(self, since: tuple[str, int]) -> list[str]:
        """Return the text of every event written since the position ``since`` (in that log
        file and those after it)."""
        first_file, position = since
        files = [str(row[0]) for row in self.execute("SHOW BINARY LOGS")]
        events: list[str] = []
        for file_name in files[files.index(first_file) :]:
            start = position if file_name == first_file else 4
            rows = self.execute(f"SHOW BINLOG EVENTS IN '{file_name}' FROM {start}")
            events += [f"{row[2]}: {row[5]}" for row in rows]
        return events


def _tool(name: str) -> str:
    path = shutil.which(name, path=SERVER_SEARCH_PATH)
    if path is None:
        pytest.fail(f"{name} not found: install mariadb-server to test binary logging")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_arguments(folder: Path, port: int) -> list[str]:
    arguments = [
        _tool("mariadbd"),
        "--no-defaults",
        f"--datadir={folder / 'data'}",
        f"--socket={folder / 'server.sock'}",
        f"--pid-file={folder / 'server.pid'}",
        f"--log-error={folder / 'error.log'}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--log-bin={folder / 'binlog'}",
        "--server-id=1",
        "--innodb-buffer-pool-size=64M",
    ]
    if os.geteuid() == 0:
        arguments.append("--user=root")  # mariadbd refuses root unless told
    return arguments


def _install(folder: Path) -> None:
    command = [
        _tool("mariadb-install-db"),
        "--no-defaults",
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        f"--datadir={folder / 'data'}",
    ]
    if os.geteuid() == 0:
        command.append("--user=root")
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        pytest.fail(f"mariadb-install-db failed: {finished.stderr.strip()[-2000:]}")


def _wait_until_ready(server: BinlogServer, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            server.connect().close()
            return
        except pymysql.MySQLError:
            time.sleep(0.1)
    _stop(process)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    pytest.fail(f"the private mariadbd did not start within {START_TIMEOUT_SECONDS} s:\n{tail}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


def private_binlog_server() -> Iterator[BinlogServer]:
    """Yield a private MariaDB with binary logging on; stop it and remove its folder after."""
    folder = Path(tempfile.mkdtemp(prefix="bp-binlog-"))
    try:
        _install(folder)
        port = _free_port()
        process = subprocess.Popen(
            _server_arguments(folder, port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        server = BinlogServer(port=port)
        try:
            _wait_until_ready(server, process, folder / "error.log")
            yield server
        finally:
            _stop(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
