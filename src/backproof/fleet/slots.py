"""A bound on the verifies that run at once on one verify server, over every worker and host.

Each verify holds one of ``verifies_per_server`` server locks named after the verify server; a
verify that finds all of them held waits. The locks live in the shared state database and are
released by the server when the holder's connection ends, so a killed worker frees its slot.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from backproof.config.models import Settings
from backproof.errors import OperationError
from backproof.state.locks import release_database_lock, try_database_lock

POLL_SECONDS = 0.5


def verify_server_of(settings: Settings, target: str) -> str:
    """Return the name of the server ``target``'s verify restores into (host:port, or the
    worker's host for SQLite, whose scratch files are local)."""
    url = settings.verify.url or settings.target(target).database
    if url is None or url.startswith("sqlite"):
        return f"sqlite@{socket.gethostname()}"
    parsed = sa.engine.make_url(url)
    return f"{parsed.get_backend_name()}://{parsed.host or 'localhost'}:{parsed.port or ''}"


@contextmanager
def hold_verify_slot(engine: Engine, server: str, slots: int) -> Iterator[int]:
    """Hold one of the ``slots`` verify slots of ``server`` for the block; yield its number.

    Waits while every slot is held. Raises OperationError when the state database is down.
    """
    try:
        connection = engine.connect()
    except sa.exc.SQLAlchemyError as exc:
        raise OperationError(f"cannot reach the state database for a verify slot: {exc}") from exc
    held: str | None = None
    try:
        while held is None:
            for number in range(slots):
                name = f"verify-slot:{server}:{number}"
                if try_database_lock(connection, name):
                    held = name
                    yield number
                    break
            else:
                time.sleep(POLL_SECONDS)
    finally:
        release_database_lock(connection, held or "", held is not None)
