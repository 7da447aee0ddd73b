"""A temporary ``verify_…`` database made on a test's server by the source's own scratch
server, and dropped after: the one set-up of the engines' restore tests."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

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
