"""Temporary ``verify_…`` databases on a server: the marker that proves them ours, and when a
marked one is a leftover.

A scratch database is ours only when its name matches the pattern of
:func:`backproof.sources.base.scratch_name` *and* it carries our marker (a comment on
PostgreSQL, a marker table on MySQL/MariaDB). The marker names the host and process that made
it, so the verify of one target never drops the scratch of another target's verify still running:
on this host a scratch is a leftover once its process is gone; a scratch of another host once
its name's time stamp is older than :data:`FOREIGN_LEFTOVER_AGE`.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backproof.archive.manifest import ID_TIME_FORMAT
from backproof.process.liveness import is_process_alive

MARKER_PREFIX = "backproof-verify"
SCRATCH_NAME = re.compile(r"^verify_[a-z0-9_]+_(?P<stamp>\d{8}t\d{6}z)_[0-9a-f]{6}$")
FOREIGN_LEFTOVER_AGE = timedelta(hours=24)
_MARKER = re.compile(rf"^{MARKER_PREFIX}(?: host=(?P<host>\S+) pid=(?P<pid>\d+))?$")


@dataclass(frozen=True)
class Marker:
    """Who made a scratch database."""

    host: str
    pid: int

    def text(self) -> str:
        """Return the marker as stored on the server."""
        return f"{MARKER_PREFIX} host={self.host} pid={self.pid}"


def current_marker() -> Marker:
    """Return the marker of scratch databases made by this process."""
    return Marker(socket.gethostname(), os.getpid())


def is_scratch_name(name: str) -> bool:
    """Return True when ``name`` has the shape of a name :func:`scratch_name` makes."""
    return SCRATCH_NAME.match(name) is not None


def is_leftover(name: str, marker_text: str | None, now: datetime | None = None) -> bool:
    """Return True when the database ``name`` marked ``marker_text`` is an abandoned scratch.

    Never True for a name of another shape or without our marker.
    """
    name_match = SCRATCH_NAME.match(name)
    marker_match = _MARKER.match(marker_text or "")
    if name_match is None or marker_match is None:
        return False
    host, pid = marker_match.group("host"), marker_match.group("pid")
    if host is not None and host == socket.gethostname():
        return not _is_process_alive(int(pid))
    stamp = datetime.strptime(name_match.group("stamp").upper(), ID_TIME_FORMAT).replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - stamp > FOREIGN_LEFTOVER_AGE


def _is_process_alive(pid: int) -> bool:
    if pid == os.getpid():
        # Our own scratches are dropped by the run that made them, never as leftovers.
        return True
    return is_process_alive(pid)
