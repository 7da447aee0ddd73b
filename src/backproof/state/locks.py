"""One run at a time per job and target, across processes and hosts, reclaimed when a holder dies.

With a SQLite state database the lock is an OS file lock (``flock``): the kernel releases it when
the holding process ends, however it ends. With a PostgreSQL or MariaDB state database — the one
every host of a fleet shares — it is a lock of the server (a PostgreSQL session advisory lock,
MariaDB ``GET_LOCK``), held by a connection of its own: the server releases it when that
connection ends, so a killed worker on any host never leaves a lock behind.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from backproof.errors import LockTimeoutError, OperationError
from backproof.privacy import make_private_dir

# How often a waiting PostgreSQL lock asks again (advisory locks have no timeout of their own).
POLL_SECONDS = 0.2
# MariaDB lock names are at most 64 characters; ours are hashed to a fixed length below that.
LOCK_NAME_PREFIX = "backproof:"


def is_server_state(engine: Engine | None) -> bool:
    """Return True when ``engine`` is a PostgreSQL or MariaDB state database."""
    return engine is not None and engine.dialect.name in ("postgresql", "mysql", "mariadb")


@contextmanager
def hold_run_lock(
    lock_dir: Path, job: str, target: str, wait_seconds: float, engine: Engine | None = None
) -> Iterator[None]:
    """Hold the lock of ``job`` on ``target`` for the block: in the state database when it is a
    server (shared by every host), else a file lock in ``lock_dir``.

    Raises LockTimeoutError when another process keeps it longer than ``wait_seconds``.
    """
    busy = f"another {job} of target {target!r} is running; waited {wait_seconds:g} s"
    if engine is not None and is_server_state(engine):
        with hold_database_lock(engine, f"run:{job}:{target}", wait_seconds) as held:
            if not held:
                raise LockTimeoutError(busy)
            yield
        return
    from filelock import FileLock, Timeout  # noqa: PLC0415 - asyncio with it; not for `list`

    make_private_dir(lock_dir)
    lock = FileLock(str(lock_dir / f"{job}-{target}.lock"), timeout=wait_seconds, mode=0o600)
    try:
        lock.acquire()
    except Timeout as exc:
        raise LockTimeoutError(busy) from exc
    try:
        yield
    finally:
        lock.release()


@contextmanager
def hold_database_lock(engine: Engine, name: str, wait_seconds: float) -> Iterator[bool]:
    """Try to hold the server lock ``name`` for up to ``wait_seconds``; yield whether it is held.

    The lock lives as long as a connection of its own, which is closed (never returned to the
    pool holding a lock) when the block ends. Raises OperationError when the server is down.
    """
    try:
        connection = engine.connect()
    except sa.exc.SQLAlchemyError as exc:
        raise OperationError(f"cannot reach the state database for a lock: {exc}") from exc
    held = False
    try:
        held = _acquire(connection, name, wait_seconds)
        yield held
    finally:
        release_database_lock(connection, name, held)


def try_database_lock(connection: Connection, name: str) -> bool:
    """Take the server lock ``name`` on ``connection`` if free, without waiting."""
    return _acquire(connection, name, 0)


def _acquire(connection: Connection, name: str, wait_seconds: float) -> bool:
    if connection.dialect.name == "postgresql":
        deadline = time.monotonic() + wait_seconds
        statement = sa.text("SELECT pg_try_advisory_lock(:key)")
        while True:
            if connection.execute(statement, {"key": _advisory_key(name)}).scalar():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    statement = sa.text("SELECT GET_LOCK(:name, :seconds)")
    result = connection.execute(statement, {"name": _lock_name(name), "seconds": wait_seconds})
    return result.scalar() == 1


def release_database_lock(connection: Connection, name: str, held: bool) -> None:
    """Release the server lock ``name`` (when ``held``) and close its connection."""
    try:
        if held and connection.dialect.name == "postgresql":
            unlock = sa.text("SELECT pg_advisory_unlock(:key)")
            connection.execute(unlock, {"key": _advisory_key(name)})
        elif held:
            connection.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": _lock_name(name)})
        connection.rollback()
    except sa.exc.SQLAlchemyError:
        # The connection is gone, and with it the lock: the server released it.
        connection.invalidate()
    finally:
        connection.close()


def _advisory_key(name: str) -> int:
    """A signed 64-bit key of ``name`` (PostgreSQL advisory locks take a bigint)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock_name(name: str) -> str:
    return LOCK_NAME_PREFIX + hashlib.blake2b(name.encode(), digest_size=16).hexdigest()
