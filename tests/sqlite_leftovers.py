"""SQLite scratch files as a crashed verify leaves them: the file and its marker (issue 9)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path


def dead_pid() -> int:
    """Return the pid of a process that has just ended."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    return ended.pid


def leave_scratch(folder: Path, name: str, pid: int | None = None) -> Path:
    """Write ``<folder>/<name>.sqlite`` and its marker naming this host and ``pid`` (a process
    that has ended when None), as a verify that crashed leaves them; return the scratch file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.sqlite"
    path.write_bytes(b"left by a crashed verify")
    marker = f"backproof-verify host={socket.gethostname()} pid={pid or dead_pid()}"
    Path(f"{path}.owner").write_text(marker, encoding="utf-8")
    return path
