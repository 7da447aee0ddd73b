"""Run locks and verify slots held by the PostgreSQL or MariaDB state database (issue 15): shared
by every host, and released by the server when the holder's connection dies."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from state_servers import mariadb_database, postgresql_database

from backproof.errors import LockTimeoutError
from backproof.fleet.slots import hold_verify_slot
from backproof.state.database import create_state_engine
from backproof.state.locks import hold_database_lock, hold_run_lock


@pytest.fixture(params=["postgresql", "mariadb"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated state database engine on each server engine."""
    urls = postgresql_database() if request.param == "postgresql" else mariadb_database()
    url = next(urls)
    state = create_state_engine(url, tmp_path / "locks")
    yield state
    state.dispose()
    urls.close()


def test_a_second_run_lock_waits_then_times_out_while_the_first_holds_it(
    engine: Engine, tmp_path: Path
) -> None:
    with hold_run_lock(tmp_path, "backup", "crm", 0, engine):
        started = time.monotonic()
        with (
            pytest.raises(LockTimeoutError, match="another backup of target 'crm'"),
            hold_run_lock(tmp_path, "backup", "crm", 0.5, engine),
        ):
            pass
        assert time.monotonic() - started >= 0.4
        with hold_run_lock(tmp_path, "verify", "crm", 0, engine):
            pass  # another job of the same target is another lock


def test_a_run_lock_is_free_again_once_its_holder_connection_dies(engine: Engine) -> None:
    holder = engine.connect()
    if engine.dialect.name == "postgresql":
        holder.execute(sa.text("SELECT pg_advisory_lock(42)"))
        backend = holder.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        kill = sa.text("SELECT pg_terminate_backend(:pid)")
    else:
        holder.execute(sa.text("SELECT GET_LOCK('bp-test-lock', 0)"))
        backend = holder.execute(sa.text("SELECT CONNECTION_ID()")).scalar()
        kill = sa.text(f"KILL {int(backend or 0)}")

    with engine.connect() as other:
        other.execute(kill, {"pid": backend})
    holder.invalidate()

    probe = engine.connect()
    if engine.dialect.name == "postgresql":
        assert probe.execute(sa.text("SELECT pg_try_advisory_lock(42)")).scalar() is True
    else:
        assert probe.execute(sa.text("SELECT GET_LOCK('bp-test-lock', 0)")).scalar() == 1
    probe.invalidate()


def test_a_named_lock_is_held_by_one_connection_at_a_time(engine: Engine) -> None:
    with (
        hold_database_lock(engine, "run:backup:crm", 0) as first,
        hold_database_lock(engine, "run:backup:crm", 0.2) as second,
    ):
        assert (first, second) == (True, False)
    with hold_database_lock(engine, "run:backup:crm", 0) as again:
        assert again is True


def test_a_verify_slot_makes_a_second_verify_wait_until_the_first_ends(engine: Engine) -> None:
    order: list[str] = []
    first_holds = threading.Event()

    def second() -> None:
        first_holds.wait()
        with hold_verify_slot(engine, "postgresql://db:5432", 1):
            order.append("second starts")

    thread = threading.Thread(target=second)
    thread.start()
    with hold_verify_slot(engine, "postgresql://db:5432", 1):
        first_holds.set()
        time.sleep(1.0)
        order.append("first ends")
    thread.join(timeout=30)

    assert order == ["first ends", "second starts"]
