"""Scratch databases on MariaDB: made marked, dropped when left over, never anyone else's."""

from __future__ import annotations

import socket
import subprocess

import pytest
from mariadb_server import MariaServer

from backproof.errors import SourceError
from backproof.sources.base import scratch_name
from backproof.sources.registry import open_server

HOST = socket.gethostname()
MARKER_TABLE = "_backproof_verify_marker"


def make_database(
    maria: MariaServer, name: str, marker: str | None, table: str = MARKER_TABLE
) -> None:
    """Create ``name`` (with a marker table holding ``marker``) as a leftover or lookalike."""
    maria.execute(f"CREATE DATABASE `{name}`")
    maria.made_databases.append(name)
    if marker is not None:
        maria.execute(f"CREATE TABLE `{name}`.`{table}` (marker VARCHAR(255) NOT NULL)")
        maria.execute(f"INSERT INTO `{name}`.`{table}` VALUES (%s)", (marker,))


def databases(maria: MariaServer) -> set[str]:
    """Return the names of the server's databases."""
    return {str(name) for (name,) in maria.execute("SHOW DATABASES")}


def dead_pid() -> int:
    """Return the pid of a process that has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_create_scratch_makes_a_database_marked_with_this_process(maria: MariaServer) -> None:
    server = open_server(maria.url("mysql"))
    name = scratch_name("bptest", "20260101T000000Z", "0a0b0c")
    scratch = server.create_scratch(name)
    try:
        marker = maria.execute(f"SELECT marker FROM `{name}`.`{MARKER_TABLE}`")[0][0]
        assert marker.startswith(f"backproof-verify host={HOST} pid=")
        assert scratch.is_empty()
    finally:
        server.drop_scratch(name)
    assert name not in databases(maria)


def test_leftovers_are_dropped_and_lookalikes_survive(maria: MariaServer) -> None:
    leftover = "verify_bptest_20260101t000000z_00000a"
    foreign_old = "verify_bptest_20200101t000000z_00000b"
    live = "verify_bptest_20260101t000000z_00000c"
    unmarked = "verify_bptest_20260101t000000z_00000d"
    other_table = "verify_bptest_20260101t000000z_00000e"
    short_name = "verify_x"
    make_database(maria, leftover, f"backproof-verify host={HOST} pid={dead_pid()}")
    make_database(maria, foreign_old, "backproof-verify host=elsewhere.example pid=1")
    make_database(maria, live, f"backproof-verify host={HOST} pid=1")  # init never ends
    make_database(maria, unmarked, None)
    make_database(maria, other_table, "backproof-verify", table="marker")
    make_database(maria, short_name, "backproof-verify")

    dropped = open_server(maria.url("mysql")).drop_leftover_scratches()

    # A verify on another test worker may sweep the same server first: whichever sweep ran,
    # both leftovers are gone and nothing else was dropped.
    assert set(dropped) <= {foreign_old, leftover}
    remaining = databases(maria)
    assert {live, unmarked, other_table, short_name} <= remaining
    assert not {leftover, foreign_old} & remaining


def test_drop_scratch_refuses_a_database_that_is_not_a_scratch(maria: MariaServer) -> None:
    database = maria.create_database(crm=False)
    server = open_server(maria.url("mysql"))

    with pytest.raises(SourceError, match="not a scratch database of backproof"):
        server.drop_scratch(database)

    assert database in databases(maria)
