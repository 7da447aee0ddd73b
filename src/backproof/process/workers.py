"""backproof's own Python worker processes: the one kind of subprocess that is not a stage of a
pipeline (``python -m <module>`` of this interpreter, spoken to over a socket on its stdin).

Started and stopped here, as every other subprocess is in this package; the protocol over the
socket is the caller's (``filestore/decrypting.py``, ``filestore/file_writers.py``).
"""

from __future__ import annotations

import subprocess
import sys
from typing import TypeAlias

WorkerProcess: TypeAlias = subprocess.Popen[bytes]


def start_python_worker(module: str, stdin: int) -> WorkerProcess:
    """Start ``python -m module`` with the descriptor ``stdin`` as its standard input (its
    standard output discarded, its standard error the caller's). Raises OSError when it cannot
    be started."""
    return subprocess.Popen([sys.executable, "-m", module], stdin=stdin, stdout=subprocess.DEVNULL)


def stop_python_worker(process: WorkerProcess, grace_seconds: float) -> None:
    """Wait up to ``grace_seconds`` for a worker told to stop; kill it then; reap it."""
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
