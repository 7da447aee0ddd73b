"""Fixtures of the PostgreSQL tests: the servers, a CRM database per test, job contexts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pg_servers import PgServer, shared_server


@pytest.fixture
def pg() -> Iterator[PgServer]:
    """The machine's PostgreSQL; what a test makes on it is dropped afterwards."""
    server = shared_server()
    yield server
    server.clean_up()


@pytest.fixture
def pg_private(pg_cluster: PgServer) -> Iterator[PgServer]:
    """The private cluster; what a test makes on it is dropped afterwards."""
    yield pg_cluster
    pg_cluster.clean_up()
