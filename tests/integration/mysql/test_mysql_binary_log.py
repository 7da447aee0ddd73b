"""A verify keeps its throw-away import out of the binary log of a real primary (one private
mariadbd with ``--log-bin`` for the module: the shared server logs no binary)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from binlog_server import BinlogServer, private_binlog_server
from mariadb_server import ContextMaker

from backproof.clock import utc_now
from backproof.doctor.checks import DoctorCheck
from backproof.doctor.source_checks import check_targets
from backproof.errors import BackproofError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from backproof.jobs.verify import run_verify
from backproof.state.records import VerifyMeta

pytestmark = pytest.mark.mariadb

VERIFY_PASSWORD = "ověřovací-Heslo-b1n"
SCRATCH_GRANT = "GRANT ALL PRIVILEGES ON `verify\\_%`.* TO {user}"


@pytest.fixture(scope="module")
def binlog_server() -> Iterator[BinlogServer]:
    """One private MariaDB with binary logging on, for the module."""
    yield from private_binlog_server()


@pytest.fixture
def primary(binlog_server: BinlogServer) -> Iterator[BinlogServer]:
    """The private server; what a test makes on it is dropped afterwards."""
    yield binlog_server
    binlog_server.clean_up()


def verify_as(
    primary: BinlogServer, make_context: ContextMaker, tmp_path: Path, *grants: str
) -> Context:
    """Return a context whose target is a CRM on ``primary``, backed up, and whose verify.url
    is a user of ``primary`` with ``grants`` (none: root, the target's own user)."""
    database = primary.create_database(big_rows=300)
    context = make_context(primary.url(database))
    if grants:
        verifier = primary.create_user(VERIFY_PASSWORD, *grants)
        password_file = tmp_path / "verify-password"
        password_file.write_text(VERIFY_PASSWORD + "\n", encoding="utf-8")
        context.settings.verify.url = primary.url("", verifier).rstrip("/")
        context.settings.verify.password_file = password_file
    run_backup(context)
    return context


def scratch_events(events: list[str]) -> list[str]:
    """Return the binary log events that name a scratch database of the tests' target."""
    return [event for event in events if "verify_bptest" in event]


def doctor_checks(context: Context, name: str) -> list[DoctorCheck]:
    """Return doctor's checks ``target bptest <name>`` of the target of ``context``."""
    checks = check_targets(context.settings, utc_now())
    return [check for check in checks if check.name == f"target bptest {name}"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_verify_as_root_leaves_no_event_of_its_scratch_database_in_the_binary_log(
    primary: BinlogServer, make_context: ContextMaker, tmp_path: Path, jobs: int
) -> None:
    context = verify_as(primary, make_context, tmp_path)
    context.settings.verify.jobs = jobs
    since = primary.binary_log_position()

    verify = run_verify(context)

    assert verify.tables == 8
    assert scratch_events(primary.binary_log_events(since)) == []
    assert verify.warnings == []


@pytest.fixture
def trusted_function_creators(primary: BinlogServer) -> Iterator[None]:
    """The server lets a user without SUPER create triggers and routines in a logged session."""
    primary.execute("SET GLOBAL log_bin_trust_function_creators = ON")
    yield
    primary.execute("SET GLOBAL log_bin_trust_function_creators = OFF")


@pytest.mark.usefixtures("trusted_function_creators")
def test_verify_as_a_least_privilege_user_passes_and_records_that_it_went_into_the_log(
    primary: BinlogServer, make_context: ContextMaker, tmp_path: Path
) -> None:
    context = verify_as(primary, make_context, tmp_path, SCRATCH_GRANT)
    since = primary.binary_log_position()

    verify = run_verify(context)

    row = context.activities.latest("verify", "bptest", ["success"])
    assert row is not None
    assert verify.tables == 8
    assert len(verify.warnings) == 1
    assert "binary logging is on" in verify.warnings[0]
    assert "replicate_wild_ignore_table" in verify.warnings[0]
    assert VerifyMeta.read(row).warnings == verify.warnings
    assert row.message is not None
    assert row.message.count("warning: binary logging is on") == 1
    assert scratch_events(primary.binary_log_events(since)) != []  # what the warning says


def test_verify_of_triggers_as_a_least_privilege_user_fails_saying_why_when_logged(
    primary: BinlogServer, make_context: ContextMaker, tmp_path: Path
) -> None:
    context = verify_as(primary, make_context, tmp_path, SCRATCH_GRANT)

    with pytest.raises(BackproofError, match="log_bin_trust_function_creators"):
        run_verify(context)

    row = context.activities.latest("verify", "bptest", ["failed"])
    assert row is not None
    logged, refused = VerifyMeta.read(row).warnings
    assert "may not turn it off" in logged
    assert "log_bin_trust_function_creators is off" in refused


def test_doctor_warns_when_the_verify_user_may_not_keep_verify_out_of_the_binary_log(
    primary: BinlogServer, make_context: ContextMaker, tmp_path: Path
) -> None:
    context = verify_as(primary, make_context, tmp_path, SCRATCH_GRANT)

    checks = doctor_checks(context, "verify server")

    assert [check.status for check in checks] == ["warning", "warning"]
    logged, refused = (check.message for check in checks)
    assert "binary logging is on" in logged
    assert "point verify.url at a server without binary logging" in logged
    assert "BINLOG ADMIN" in logged
    assert "replicate_wild_ignore_table = verify\\_%.%" in logged
    assert "set log_bin_trust_function_creators = ON" in refused


@pytest.mark.usefixtures("trusted_function_creators")
def test_a_verify_user_granted_binlog_admin_stays_out_of_the_log_and_is_not_flagged(
    primary: BinlogServer, make_context: ContextMaker, tmp_path: Path
) -> None:
    context = verify_as(
        primary, make_context, tmp_path, SCRATCH_GRANT, "GRANT BINLOG ADMIN ON *.* TO {user}"
    )
    since = primary.binary_log_position()

    verify = run_verify(context)

    assert verify.warnings == []
    assert scratch_events(primary.binary_log_events(since)) == []
    verify_user = doctor_checks(context, "verify user")
    assert [check.status for check in verify_user] == ["ok"], verify_user
    assert doctor_checks(context, "verify server") == []


def test_doctor_says_nothing_of_the_binary_log_when_verify_runs_as_root(
    primary: BinlogServer, make_context: ContextMaker, tmp_path: Path
) -> None:
    context = verify_as(primary, make_context, tmp_path)

    assert doctor_checks(context, "verify server") == []
