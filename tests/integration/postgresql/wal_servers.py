"""A private PostgreSQL primary that archives its WAL, and a standby streaming from it.

The shared server (127.0.0.1:5432) has no standby and archives nothing, and must not be
restarted, so the tests of what a verify costs a primary's WAL start their own: a private
cluster (``pg_servers.PrivateCluster``) with ``archive_mode = on`` (``archive_command = true``:
every segment counts as archived, none is kept), and, for the tests that ask, a hot standby made
by ``pg_basebackup -R`` of it. Both are stopped and their folders removed afterwards.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import pytest
from pg_servers import ADMIN_PASSWORD, BIN_DIRS, PgServer, PrivateCluster, free_port

ARCHIVING = ("archive_mode=on", "archive_command=true")
STANDBY_TIMEOUT_SECONDS = 20.0


def _as_owner() -> list[str]:
    """Return the prefix that runs a server command as the ``postgres`` system user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(command: list[str], what: str) -> None:
    environment = {**os.environ, "PGPASSWORD": ADMIN_PASSWORD}
    finished = subprocess.run(
        [*_as_owner(), *command], capture_output=True, text=True, env=environment, check=False
    )
    if finished.returncode != 0:
        pytest.fail(f"cannot {what}: {finished.stderr.strip()[-2000:]}")


def archiving_cluster() -> Iterator[PrivateCluster]:
    """Yield a private cluster that archives its WAL; stop it and remove its folder after."""
    cluster = PrivateCluster.start(ARCHIVING)
    try:
        yield cluster
    finally:
        cluster.stop()


def standby_of(primary: PrivateCluster) -> Iterator[PgServer]:
    """Yield a hot standby streaming from ``primary``, once the primary counts it; stop it
    after (its folder goes with the primary's)."""
    binaries = BIN_DIRS[-1]
    data = primary.folder / "standby"
    port = free_port()
    source = ["-h", "127.0.0.1", "-p", str(primary.server.port), "-U", "postgres"]
    _run(
        [str(binaries / "pg_basebackup"), *source, "-D", str(data), "-R", "-X", "stream"],
        "copy the private primary into a standby",
    )
    options = f"-p {port} -k {primary.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = str(primary.folder / "standby.log")
    _run(
        [str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start"],
        "start the private standby",
    )
    try:
        _wait_for_walsender(primary.server)
        yield PgServer("127.0.0.1", port, admin_password=ADMIN_PASSWORD)
    finally:
        _run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], "stop it")


def _wait_for_walsender(primary: PgServer) -> None:
    deadline = time.monotonic() + STANDBY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        with primary.connect() as admin:
            row = admin.execute("SELECT count(*) FROM pg_stat_replication").fetchone()
        if row is not None and row[0] > 0:
            return
        time.sleep(0.1)
    pytest.fail(f"the private standby did not stream within {STANDBY_TIMEOUT_SECONDS} s")
