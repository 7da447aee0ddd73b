"""Fixtures of the end-to-end tests: the user, and a demo database held under a write lock."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable, Iterator

import pytest
from cli_user import User

from backproof.demo import DemoLayout


@pytest.fixture
def user(demo: DemoLayout, run_cli: Callable[..., subprocess.CompletedProcess[str]]) -> User:
    return User(demo, run_cli)


@pytest.fixture
def locked_database(demo: DemoLayout) -> Iterator[sqlite3.Connection]:
    """The demo database held under an exclusive lock, as a long write transaction would.

    The database is switched to a rollback journal so that the lock keeps readers out: a backup
    started meanwhile waits inside its dump, deterministically, until the test commits.
    """
    connection = sqlite3.connect(demo.database, isolation_level=None)
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute("BEGIN EXCLUSIVE")
    yield connection
    if connection.in_transaction:
        connection.execute("ROLLBACK")
    connection.close()
