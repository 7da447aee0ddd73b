"""One temporary folder for a long-running process: every temporary file its jobs make lives
under it, so that nothing is left behind when the process must exit with a job still running.

``backproof serve`` leaves when SIGTERM's grace is over even if a job still runs (its row is
recorded as interrupted); that job's own temporary folder (a SQLite target's snapshot, a spool)
would stay in ``/tmp``, private but possibly half written. A ``backproof worker`` killed with its
pool leaves its jobs' folders and the pool's own (Celery's billiard makes ``pymp-…`` folders).
With every such folder under the process's root (``backproof-serve-<pid>-…``,
``backproof-worker-<pid>-…``), the process removes the root as it exits, and a root whose
process is gone (killed, the machine stopped) is removed by the next start of either.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from backproof.process.liveness import is_process_alive

PREFIX = "backproof-"
ROLES = ("serve", "worker")
# A job's thread may still create a file while the tree is removed: a few passes catch it.
REMOVE_ATTEMPTS = 3


@dataclass
class TemporaryRoot:
    """The process's temporary folder, and what ``tempfile`` used before it."""

    path: Path
    previous: str | None

    def remove(self) -> bool:
        """Remove the root; return whether it is gone.

        ``tempfile`` still points at it: a job's thread still running fails to make a new
        temporary file instead of leaving one in the system's folder.
        """
        return remove_tree(self.path)

    def restore(self) -> None:
        """Give ``tempfile`` its folder back (for a process that goes on)."""
        tempfile.tempdir = self.previous


def open_temporary_root(role: str, base: Path | None = None) -> TemporaryRoot:
    """Make this process's root in ``base`` (the system's temporary folder by default) and
    make it ``tempfile``'s folder for every thread of the process (and the processes it forks).
    ``role`` is one of ``ROLES``."""
    if role not in ROLES:
        raise ValueError(f"no temporary root for {role!r}")
    parent = base or Path(tempfile.gettempdir())
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{role}-{os.getpid()}-", dir=parent))
    previous = tempfile.tempdir
    tempfile.tempdir = str(path)
    return TemporaryRoot(path, previous)


@contextlib.contextmanager
def process_temporary_root(role: str, say: Callable[[str], None]) -> Iterator[TemporaryRoot]:
    """For the body of a long-running process (``serve``, ``worker``): remove the roots that
    processes gone left in the system's temporary folder, make this one's, and remove it when
    the body ends, however it ends. ``say`` gets a line for each root removed and for one that
    could not be."""
    for folder in remove_abandoned_roots():
        say(f"removed {folder}, left by a backproof serve or worker that is gone")
    root = open_temporary_root(role)
    try:
        yield root
    finally:
        if not root.remove():
            say(f"could not remove {root.path}")


def remove_tree(path: Path) -> bool:
    """Remove ``path`` and all under it; return whether it is gone."""
    for _ in range(REMOVE_ATTEMPTS):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return True
    return False


def remove_abandoned_roots(base: Path | None = None) -> list[Path]:
    """Remove the roots in ``base`` left by processes of this user that no longer exist."""
    parent = base or Path(tempfile.gettempdir())
    removed: list[Path] = []
    entries = [entry for role in ROLES for entry in parent.glob(f"{PREFIX}{role}-*")]
    for entry in sorted(entries):
        pid = _owner_pid(entry)
        if pid is None or pid == os.getpid() or is_process_alive(pid):
            continue
        if remove_tree(entry):
            removed.append(entry)
    return removed


def _owner_pid(entry: Path) -> int | None:
    """The pid in a root's name, or None for what is not a root of this user."""
    _role, _, rest = entry.name.removeprefix(PREFIX).partition("-")
    digits, _, _ = rest.partition("-")
    try:
        status = entry.lstat()
    except OSError:
        return None
    if not digits.isdigit() or not entry.is_dir() or entry.is_symlink():
        return None
    if status.st_uid != os.getuid():
        return None
    return int(digits)
