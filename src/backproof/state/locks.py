"""One run at a time per job and target, across processes, reclaimed when a holder dies.

The lock is an OS file lock (``flock``): the kernel releases it when the holding process ends,
however it ends, so a killed run never leaves a lock behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from backproof.errors import LockTimeoutError
from backproof.privacy import make_private_dir


@contextmanager
def hold_run_lock(lock_dir: Path, job: str, target: str, wait_seconds: float) -> Iterator[None]:
    """Hold the lock of ``job`` on ``target`` for the block.

    Raises LockTimeoutError when another process keeps it longer than ``wait_seconds``.
    """
    make_private_dir(lock_dir)
    lock = FileLock(str(lock_dir / f"{job}-{target}.lock"), timeout=wait_seconds, mode=0o600)
    try:
        lock.acquire()
    except Timeout as exc:
        raise LockTimeoutError(
            f"another {job} of target {target!r} is running; waited {wait_seconds:g} s"
        ) from exc
    try:
        yield
    finally:
        lock.release()
