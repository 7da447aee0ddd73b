"""A backup running on its own thread, and its dump tool caught while a lock holds it: how the
engines' tests look at a dump process while it runs (its arguments, environment, a kill)."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field

import psutil
import pytest

from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context

WAIT_SECONDS = 30


@dataclass
class BackupThread:
    """``run_backup`` of a context on a thread; what it raised, if anything."""

    context: Context
    errors: list[BaseException] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> BackupThread:
        """Start the backup; return self."""
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        return self

    def join(self, timeout_seconds: float = WAIT_SECONDS) -> None:
        """Wait for the backup to end."""
        assert self.thread is not None
        self.thread.join(timeout_seconds)

    def _run(self) -> None:
        try:
            run_backup(self.context)
        except BaseException as error:
            self.errors.append(error)


def wait_for_blocked_dump(name: str) -> psutil.Process:
    """Return the dump tool ``name`` among this test's descendants once it sleeps, waiting for
    a lock (the real tool: not Debian's perl wrapper of pg_dump)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error, IndexError):
                arguments = child.cmdline()
                is_dump = child.name() == name and "perl" not in arguments[0]
                is_dumping = any(
                    item.startswith(("--snapshot", "--single-transaction")) for item in arguments
                )
                if is_dump and is_dumping and child.status() == psutil.STATUS_SLEEPING:
                    return child
        time.sleep(0.05)
    pytest.fail(f"{name} did not start and block within {WAIT_SECONDS} s")
