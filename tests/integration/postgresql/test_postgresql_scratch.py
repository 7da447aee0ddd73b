"""Scratch databases on PostgreSQL: made marked, dropped when left over, never anyone else's."""

from __future__ import annotations

import socket
import subprocess

import pytest
from pg_servers import PgServer
from psycopg import sql

from backproof.errors import SourceError
from backproof.sources.base import scratch_name
from backproof.sources.registry import open_server

HOST = socket.gethostname()


def make_database(pg: PgServer, name: str, comment: str | None) -> None:
    """Create ``name`` (with ``comment``) as a leftover or a lookalike would be."""
    with pg.connect() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        if comment is not None:
            admin.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(name), sql.Literal(comment)
                )
            )
    pg.made_databases.append(name)


def databases(pg: PgServer) -> set[str]:
    """Return the names of the server's databases."""
    with pg.connect() as admin:
        return {str(name) for (name,) in admin.execute("SELECT datname FROM pg_database")}


def dead_pid() -> int:
    """Return the pid of a process that has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_create_scratch_makes_an_empty_database_marked_with_this_process(pg: PgServer) -> None:
    server = open_server(pg.url("postgres"))
    name = scratch_name("bptest", "20260101T000000Z", "0a0b0c")
    scratch = server.create_scratch(name)
    try:
        with pg.connect() as admin:
            row = admin.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                (name,),
            ).fetchone()
        assert row is not None
        assert row[0].startswith(f"backproof-verify host={HOST} pid=")
        assert scratch.is_empty()
    finally:
        server.drop_scratch(name)
    assert name not in databases(pg)


def test_leftovers_are_dropped_and_lookalikes_survive(pg_private: PgServer) -> None:
    # On the worker's private cluster: a verify of another test run (or of another worker of a
    # parallel run) sweeps the shared server's leftovers too, and could drop these first.
    pg = pg_private
    gone = dead_pid()
    leftover = "verify_bptest_20260101t000000z_00000a"
    foreign_old = "verify_bptest_20200101t000000z_00000b"
    live = "verify_bptest_20260101t000000z_00000c"
    unmarked = "verify_bptest_20260101t000000z_00000d"
    other_comment = "verify_bptest_20260101t000000z_00000e"
    short_name = "verify_x"
    make_database(pg, leftover, f"backproof-verify host={HOST} pid={gone}")
    make_database(pg, foreign_old, "backproof-verify host=elsewhere.example pid=1")
    make_database(pg, live, f"backproof-verify host={HOST} pid=1")  # init never ends
    make_database(pg, unmarked, None)
    make_database(pg, other_comment, "the DBA's verify copy, keep")
    make_database(pg, short_name, "backproof-verify")

    dropped = open_server(pg.url("postgres", password=pg.admin_password)).drop_leftover_scratches()

    assert sorted(dropped) == [foreign_old, leftover]
    remaining = databases(pg)
    assert {live, unmarked, other_comment, short_name} <= remaining
    assert not {leftover, foreign_old} & remaining


def test_drop_scratch_refuses_a_database_that_is_not_a_scratch(pg: PgServer) -> None:
    database = pg.create_database(crm=False)
    server = open_server(pg.url("postgres"))

    with pytest.raises(SourceError, match="not a scratch database of backproof"):
        server.drop_scratch(database)

    assert database in databases(pg)
