"""A verify says what it costs a PostgreSQL primary's WAL archive and standbys (one private
cluster with ``archive_mode = on`` for the module, and a standby of it for the last tests: the
shared server has neither)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_servers import ADMIN_PASSWORD, ContextMaker, PgServer, PrivateCluster
from wal_servers import archiving_cluster, standby_of

from backproof.clock import utc_now
from backproof.doctor.checks import DoctorCheck
from backproof.doctor.source_checks import check_targets
from backproof.errors import BackproofError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from backproof.jobs.verify import run_verify
from backproof.sources.registry import open_server
from backproof.state.records import VerifyMeta

pytestmark = pytest.mark.postgres

VERIFY_PASSWORD = "ověřovací-Heslo-wal"
ADMIN_PASSWORD_ENV = "BP_TEST_WAL_ADMIN_PASSWORD"


@pytest.fixture(scope="module")
def archiving() -> Iterator[PrivateCluster]:
    """One private cluster that archives its WAL, for the module."""
    yield from archiving_cluster()


@pytest.fixture(scope="module")
def standby(archiving: PrivateCluster) -> Iterator[PgServer]:
    """A hot standby of the archiving cluster, from the first test that asks to the end."""
    yield from standby_of(archiving)


@pytest.fixture
def primary(archiving: PrivateCluster) -> Iterator[PgServer]:
    """The archiving cluster's server; what a test makes on it is dropped afterwards."""
    yield archiving.server
    archiving.server.clean_up()


def backed_up(
    server: PgServer,
    make_context: ContextMaker,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    verify_on: PgServer | None = None,
) -> Context:
    """Return a context whose target is a CRM on ``server``, backed up, and whose verify.url
    is a least-privileged verify user (CREATEDB, as docs/databases.md asks) made there, on
    ``server`` or on ``verify_on``, a standby of it."""
    database = server.create_database(big_rows=100)
    monkeypatch.setenv(ADMIN_PASSWORD_ENV, ADMIN_PASSWORD)
    context = make_context(server.url(database), password_env=ADMIN_PASSWORD_ENV)
    verifier = server.create_role(VERIFY_PASSWORD, "CREATEDB")
    password_file = tmp_path / "verify-password"
    password_file.write_text(VERIFY_PASSWORD + "\n", encoding="utf-8")
    context.settings.verify.url = (verify_on or server).url("postgres", verifier)
    context.settings.verify.password_file = password_file
    run_backup(context)
    return context


def doctor_checks(context: Context) -> list[DoctorCheck]:
    """Return doctor's checks ``target bptest verify server`` of the target of ``context``."""
    checks = check_targets(context.settings, utc_now())
    return [check for check in checks if check.name == "target bptest verify server"]


def test_a_least_privileged_verify_user_of_the_shared_server_gets_no_warning(
    pg: PgServer,
) -> None:
    role = pg.create_role("secret", "CREATEDB")

    assert open_server(pg.url("postgres", role), "secret").verify_warnings() == []


def test_verify_on_an_archiving_server_passes_and_records_one_warning_of_the_archive(
    primary: PgServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    context = backed_up(primary, make_context, monkeypatch, tmp_path)

    verify = run_verify(context)

    row = context.activities.latest("verify", "bptest", ["success"])
    assert row is not None
    assert verify.tables == 10
    (warning,) = verify.warnings
    assert f"PostgreSQL at 127.0.0.1:{primary.port}/postgres " in warning
    assert "(archive_mode = on)" in warning
    assert "stored by the archive" in warning
    assert "point verify.url at a PostgreSQL server of its own" in warning
    assert VerifyMeta.read(row).warnings == verify.warnings
    assert row.message is not None
    assert row.message.count(f"warning: {warning}") == 1


def test_doctor_warns_of_the_wal_archive_of_the_verify_server(
    primary: PgServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    context = backed_up(primary, make_context, monkeypatch, tmp_path)

    checks = doctor_checks(context)

    assert [check.status for check in checks] == ["warning"]
    assert "(archive_mode = on)" in checks[0].message
    assert "point verify.url at a PostgreSQL server of its own" in checks[0].message


def test_a_least_privileged_verify_user_counts_the_standby_of_its_server(
    primary: PgServer, standby: PgServer
) -> None:
    role = primary.create_role("secret", "CREATEDB")

    (warning,) = open_server(primary.url("postgres", role), "secret").verify_warnings()

    assert "streams its WAL to 1 standby and archives it (archive_mode = on)" in warning
    assert "replayed by the standby and stored by the archive" in warning


def test_verify_on_a_standby_fails_and_doctor_says_it_cannot_hold_a_scratch_database(
    primary: PgServer,
    standby: PgServer,
    make_context: ContextMaker,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    context = backed_up(primary, make_context, monkeypatch, tmp_path, verify_on=standby)

    # As before: the scratch database's creation fails, saying why.
    with pytest.raises(BackproofError, match="CREATE DATABASE in a read-only transaction"):
        run_verify(context)
    checks = doctor_checks(context)

    assert [check.status for check in checks] == ["warning"]
    assert "is a standby (in recovery)" in checks[0].message
