"""Which files and folders of ``targets[].files`` are left out of the files part (``exclude``).

A pattern is a shell glob (``fnmatch``: ``*`` matches ``/`` too). Without a ``/`` it is matched
against a name anywhere in the tree (``*.log``, ``cache``); with one, against the path as stored
in the archive, which starts with the configured folder's own name (``uploads/tmp/*``,
``storage/framework/sessions``). An excluded folder is not entered at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import PurePosixPath


def is_excluded(archive_name: str, patterns: Sequence[str]) -> bool:
    """Return True when the entry stored as ``archive_name`` matches one of ``patterns``."""
    if not patterns:
        return False  # the usual case, asked once per entry of a tree
    name = PurePosixPath(archive_name).name
    for pattern in patterns:
        candidate = archive_name if "/" in pattern.rstrip("/") else name
        if fnmatchcase(candidate, pattern.rstrip("/")):
            return True
    return False
