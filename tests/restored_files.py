"""Files with varied modes and whole-second times, and what a restore must give back of them."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def vary_modes_and_times(folder: Path) -> None:
    """Give the files below ``folder`` modes 0600, 0640 and 0755 in turn and whole-second
    times (a restore sets a file's time from its nanoseconds as a float of seconds)."""
    for number, path in enumerate(sorted(p for p in folder.rglob("*") if p.is_file())):
        path.chmod((0o600, 0o640, 0o755)[number % 3])
        os.utime(path, (1_700_000_000 + number, 1_600_000_000 + number))


def files_of(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Return every regular file below ``folder``: content, permission bits, mtime (ns)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            mode = stat.S_IMODE(info.st_mode)
            found[path.relative_to(folder).as_posix()] = (path.read_bytes(), mode, info.st_mtime_ns)
    return found
