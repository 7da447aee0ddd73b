"""backproof's own worker processes as the system sees them: which of this process's children
run a given worker module (how the files store's tests check that workers ran, and stopped)."""

from __future__ import annotations

import psutil

SEAL_WORKER = "backproof.filestore.seal_worker"


def workers_running(module: str = SEAL_WORKER) -> set[int]:
    """Return the pids of this process's children running ``python -m module``."""
    found = set()
    for child in psutil.Process().children():
        try:
            if module in child.cmdline():
                found.add(child.pid)
        except psutil.Error:  # ended meanwhile (a zombie's cmdline cannot be read)
            continue
    return found
