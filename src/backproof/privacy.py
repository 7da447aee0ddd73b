"""Private files and folders: backups and state are readable by their owner only, whatever umask."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_dir(path: Path) -> None:
    """Create ``path`` and missing parents as 0700 folders; tighten ``path`` itself if it exists.

    Parents that already exist are left alone: they may be shared folders like /var.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        folder.chmod(PRIVATE_DIR_MODE)
    if path.stat().st_uid == os.getuid():
        path.chmod(PRIVATE_DIR_MODE)


def open_private_file(path: Path) -> int:
    """Create ``path`` for writing as a 0600 file (truncating it) and return the descriptor."""
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.fchmod(descriptor, PRIVATE_FILE_MODE)
    return descriptor
