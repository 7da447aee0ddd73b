"""SQLite scratch files carry the same ownership proof as the server engines' scratch databases.

A scratch is ``<folder>/verify_<target>_<utc>_<random>.sqlite`` (plus its journal files) and a
marker file ``….sqlite.owner`` holding ``backproof-verify host=<host> pid=<pid>``. A leftover is
deleted only when its name has the scratch pattern, the marker is there and
``backproof.sources.scratch.is_leftover`` says its process is gone: a user's own file that
merely matches ``verify_*`` and the scratch of a verify still running are never touched.
"""

from __future__ import annotations

import os
from pathlib import Path

from backproof.privacy import open_private_file
from backproof.sources.scratch import current_marker, is_leftover

SCRATCH_SUFFIX = ".sqlite"
MARKER_SUFFIX = ".owner"
# Every file of one scratch; the marker goes last, so an interrupted drop stays recognisable.
SCRATCH_FILE_SUFFIXES = ("", "-wal", "-shm", "-journal", ".partial", MARKER_SUFFIX)
MARKER_LIMIT_BYTES = 256


def write_scratch_marker(path: Path) -> None:
    """Write the marker of the scratch file ``path`` (0600): this host and process."""
    with os.fdopen(open_private_file(Path(f"{path}{MARKER_SUFFIX}")), "w") as marker:
        marker.write(current_marker().text())


def is_leftover_scratch(marker: Path) -> bool:
    """Return True when the marker file ``marker`` names a scratch whose verify is gone."""
    name = marker.name.removesuffix(MARKER_SUFFIX).removesuffix(SCRATCH_SUFFIX)
    if marker.is_symlink() or not marker.is_file():
        return False
    try:
        with marker.open("rb") as handle:
            text = handle.read(MARKER_LIMIT_BYTES).decode("utf-8", errors="replace").strip()
    except OSError:
        return False
    return is_leftover(name, text)


def drop_leftover_scratch(marker: Path) -> str:
    """Delete the files of the scratch ``marker`` belongs to; return the scratch's file name."""
    path = marker.with_name(marker.name.removesuffix(MARKER_SUFFIX))
    for suffix in SCRATCH_FILE_SUFFIXES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path.name
