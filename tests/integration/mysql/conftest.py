"""Fixtures of the MySQL/MariaDB tests: the server, job contexts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mariadb_server import MariaServer, shared_server


@pytest.fixture
def maria() -> Iterator[MariaServer]:
    """The machine's MariaDB; what a test makes on it is dropped afterwards."""
    server = shared_server()
    yield server
    server.clean_up()
