"""A temporary ``verify_…`` database made on a test's server by the source's own scratch
server, and dropped after: the one set-up of the engines' restore tests."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass

from backproof.process.liveness import is_process_alive
from backproof.sources.base import DatabaseSource, scratch_name
from backproof.sources.registry import open_server


@dataclass(frozen=True)
class Scratch:
    """A scratch database: its name on the server and the source bound to it."""

    name: str
    database: DatabaseSource


@contextlib.contextmanager
def scratch_database(server_url: str) -> Iterator[Scratch]:
    """Make a scratch database, named at random (other runs share the servers), on the server
    of ``server_url``; drop it afterwards."""
    server = open_server(server_url)
    name = scratch_name("bptest", "20260101T000000Z", secrets.token_hex(3))
    database = server.create_scratch(name)
    try:
        yield Scratch(name, database)
    finally:
        server.drop_scratch(name)


def is_another_live_run(marker: str | None) -> bool:
    """Return True when a scratch database's marker names another process of this host that is
    still running (another test run on the shared server): its clean-up must leave it alone."""
    found = re.fullmatch(r"backproof-verify host=(\S+) pid=(\d+)", marker or "")
    if found is None or found.group(1) != socket.gethostname():
        return False
    pid = int(found.group(2))
    return pid != os.getpid() and is_process_alive(pid)
