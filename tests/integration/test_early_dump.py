"""A dump started before the backup is set up (``jobs.early_dump``): the same backup as one
started in its own time, exact while the application writes, and a set-up that fails kills
the dump tool and commits nothing. Run against PostgreSQL and MariaDB."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pyrage
import pytest
from mariadb_server import MariaServer
from mariadb_server import shared_server as shared_mariadb
from pg_servers import PgServer
from pg_servers import shared_server as shared_postgresql

from backproof.archive.catalog import scan_target
from backproof.config.models import EncryptionSettings
from backproof.errors import LockTimeoutError, SourceError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from backproof.jobs.early_dump import EarlyDump, early_dump
from backproof.jobs.verify import run_verify
from backproof.sources import postgresql_streams, prefetch
from backproof.state.locks import hold_run_lock

ContextMaker = Callable[..., Context]
DUMP_TOOLS = ("pg_dump", "mariadb-dump", "mysqldump")


@pytest.fixture(params=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest) -> Iterator[PgServer | MariaServer]:
    """Each server engine in turn; what a test makes on it is dropped afterwards."""
    chosen: PgServer | MariaServer = (
        shared_postgresql() if request.param == "postgresql" else shared_mariadb()
    )
    yield chosen
    chosen.clean_up()


def started(context: Context) -> EarlyDump:
    """Return the context's target's dump, started as ``backproof backup`` starts it."""
    early = EarlyDump(context.settings.target("bptest"), None)
    early.start()
    return early


def dump_tools() -> list[psutil.Process]:
    """Return the dump tools running under this test process."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name() in DUMP_TOOLS and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.Error:
            continue
    return found


def started_dump_tools() -> list[psutil.Process]:
    """Return the dump tools started under this test process, running or ended (a tool whose
    output fits in the pipes and the held memory ends before the backup reads it)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.name() in DUMP_TOOLS:
                found.append(child)
    return found


def comparable(context: Context, backup_id: str) -> dict[str, Any]:
    """Return what a committed backup's manifest says of the database's content."""
    manifest = next(
        item for item in scan_target(context.storage(), "bptest").committed if item.id == backup_id
    )
    facts = manifest.facts
    return {
        "tables": facts.tables,
        "digests": facts.digests,
        "digest_method": facts.digest_method,
        "samples": facts.samples,
        "objects": facts.objects,
    }


def test_an_early_dump_stores_what_a_dump_started_in_its_own_time_stores(
    server: PgServer | MariaServer, make_context: ContextMaker
) -> None:
    context = make_context(server.url(server.create_database(big_rows=20_000)))

    early = run_backup(context, early=started(context))
    own_time = run_backup(context)

    assert comparable(context, early.backup_id) == comparable(context, own_time.backup_id)
    assert run_verify(context, backup_id=early.backup_id).backup_id == early.backup_id


def test_an_early_dump_past_its_spool_waits_for_the_backup_and_loses_no_byte(
    server: PgServer | MariaServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefetch, "SPOOL_BYTES", 64 * 1024)
    context = make_context(server.url(server.create_database(big_rows=30_000)))
    early = started(context)
    time.sleep(0.5)  # the spool fills; the tool waits

    backup = run_backup(context, early=early)

    assert backup.parts[0].raw_size_bytes is not None
    assert backup.parts[0].raw_size_bytes > 10 * 64 * 1024
    assert run_verify(context, backup_id=backup.backup_id).backup_id == backup.backup_id


def test_an_early_dump_into_an_encrypted_gzip_part_stores_what_one_in_its_own_time_stores(
    server: PgServer | MariaServer, make_context: ContextMaker, tmp_path: Path
) -> None:
    identity = pyrage.x25519.Identity.generate()
    (tmp_path / "age.key").write_text(f"{identity}\n", encoding="ascii")
    context = make_context(server.url(server.create_database(big_rows=20_000)), compression="gzip")
    context.settings.encryption = EncryptionSettings(
        recipients=[str(identity.to_public())], identity_file=tmp_path / "age.key"
    )

    early = run_backup(context, early=started(context))
    own_time = run_backup(context)

    assert early.parts[0].file.endswith(".gz.age")
    assert early.parts[0].raw_size_bytes == own_time.parts[0].raw_size_bytes
    assert comparable(context, early.backup_id) == comparable(context, own_time.backup_id)
    assert run_verify(context, backup_id=early.backup_id).backup_id == early.backup_id


@contextlib.contextmanager
def application_writing(server: PgServer | MariaServer, database: str) -> Iterator[list[int]]:
    """Insert and delete rows of ``big_table`` on a thread for the block, one transaction at a
    time, as an application would; yield the list of the writes' numbers so far."""
    stop = threading.Event()
    writes: list[int] = []

    def write() -> None:
        connection = server.connect(database)
        try:
            cursor = connection.cursor()
            while not stop.is_set():
                number = len(writes) + 1
                cursor.execute(
                    "INSERT INTO big_table VALUES (%s, 'nový řádek')", (2_000_000 + number,)
                )
                cursor.execute("DELETE FROM big_table WHERE id = %s", (number,))
                connection.commit()
                writes.append(number)
        finally:
            connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        yield writes
    finally:
        stop.set()
        thread.join()


def test_an_early_dump_is_exact_although_the_application_writes_while_it_is_spooled(
    server: PgServer | MariaServer, make_context: ContextMaker
) -> None:
    database = server.create_database(big_rows=50_000)
    context = make_context(server.url(database), key_tables=["companies", "contacts"])

    with application_writing(server, database) as writes:
        early = started(context)
        time.sleep(0.3)  # the application goes on writing while the dump is held
        writes_before = len(writes)
        backup = run_backup(context, early=early)
        writes_during = len(writes) - writes_before

    assert writes_during > 0
    assert run_verify(context, backup_id=backup.backup_id).backup_id == backup.backup_id


def backup_whose_set_up_fails(context: Context) -> EarlyDump:
    """Run a backup of ``bptest`` whose set-up cannot go on (another backup holds the run
    lock) while its dump runs early; return that dump once its tools ended (or 10 s passed)."""
    context.settings.state.lock_wait_seconds = 0
    lock_dir = context.settings.state.lock_dir
    with (
        hold_run_lock(lock_dir, "backup", "bptest", 0),
        early_dump(context.settings, "bptest") as early,
    ):
        assert early is not None
        assert dump_tools()  # the dump runs while the backup is set up
        with pytest.raises(LockTimeoutError):
            run_backup(context, early=early)
    deadline = time.monotonic() + 10
    while dump_tools() and time.monotonic() < deadline:
        time.sleep(0.05)
    return early


def test_a_set_up_that_fails_kills_the_early_dump_and_commits_nothing(
    server: PgServer | MariaServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefetch, "SPOOL_BYTES", 64 * 1024)  # the tool waits, held: alive
    context = make_context(
        server.url(server.create_database(big_rows=100_000)), key_tables=["companies"]
    )

    backup_whose_set_up_fails(context)

    assert dump_tools() == []
    assert scan_target(context.storage(), "bptest").committed == []
    assert context.activities.latest("backup", "bptest", ["skipped"]) is not None


def test_an_early_dump_that_fails_fails_the_backup_in_its_audit_row(
    server: PgServer | MariaServer, make_context: ContextMaker
) -> None:
    context = make_context(server.url(server.create_database()), key_tables=["no_such_table"])

    with pytest.raises(SourceError, match="no_such_table"):
        run_backup(context, early=started(context))

    assert scan_target(context.storage(), "bptest").committed == []
    assert context.activities.latest("backup", "bptest", ["failed"]) is not None


def test_a_target_with_before_hooks_gets_no_early_dump_and_the_only_target_one(
    server: PgServer | MariaServer, make_context: ContextMaker
) -> None:
    url = server.url(server.create_database())
    hooked = make_context(url, hooks={"before_backup": ["true"]})

    with early_dump(hooked.settings, "bptest") as early:
        assert early is None
    plain = make_context(url)
    with early_dump(plain.settings, None) as early:
        assert early is not None
        assert run_backup(plain, early=early).parts[0].name == "db"


@pytest.fixture
def pg_tables_apart(monkeypatch: pytest.MonkeyPatch) -> Iterator[PgServer]:
    """The shared PostgreSQL, whose test-sized tables are large enough to be dumped apart
    (a dump in two streams); what a test makes on it is dropped afterwards."""
    monkeypatch.setattr(postgresql_streams, "DATA_PART_MIN_BYTES", 256 * 1024)
    pg = shared_postgresql()
    yield pg
    pg.clean_up()


def test_an_early_dump_in_two_streams_stores_what_one_in_its_own_time_stores_and_verifies(
    pg_tables_apart: PgServer, make_context: ContextMaker
) -> None:
    pg = pg_tables_apart
    context = make_context(pg.url(pg.create_database(big_rows=20_000)))

    early = run_backup(context, early=started(context))
    own_time = run_backup(context)
    verified = run_verify(context, backup_id=early.backup_id)

    assert verified.backup_id == early.backup_id
    assert [part.name for part in early.parts] == ["db", "db-data"]
    assert [part.name for part in own_time.parts] == ["db", "db-data"]
    assert early.parts[1].raw_size_bytes == own_time.parts[1].raw_size_bytes
    assert comparable(context, early.backup_id) == comparable(context, own_time.backup_id)


def test_an_early_dump_in_one_stream_opens_no_second_part(
    server: PgServer | MariaServer, make_context: ContextMaker, tmp_path: Path
) -> None:
    context = make_context(server.url(server.create_database(big_rows=1_000)))

    backup = run_backup(context, early=started(context))
    time.sleep(0.2)  # a stray upload of a second part would be open by now

    assert [part.name for part in backup.parts] == ["db"]
    stored = sorted(path.name for path in (tmp_path / "backups").rglob("*") if path.is_file())
    assert [name for name in stored if not name.startswith(("db.", "manifest"))] == []


def test_both_streams_of_an_early_dump_run_while_the_backup_is_set_up(
    pg_tables_apart: PgServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefetch, "SPOOL_BYTES", 64 * 1024)  # each stream waits, held
    pg = pg_tables_apart
    context = make_context(pg.url(pg.create_database(big_rows=100_000)))
    with early_dump(context.settings, "bptest") as early:
        assert early is not None
        deadline = time.monotonic() + 10
        while len(started_dump_tools()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        started_before_set_up = len(started_dump_tools())
        backup = run_backup(context, early=early)
    verified = run_verify(context, backup_id=backup.backup_id)

    assert started_before_set_up == 2
    assert [part.name for part in backup.parts] == ["db", "db-data"]
    assert verified.backup_id == backup.backup_id


def test_a_set_up_that_fails_stops_both_streams_of_an_early_dump(
    pg_tables_apart: PgServer, make_context: ContextMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefetch, "SPOOL_BYTES", 64 * 1024)  # each stream waits, held
    pg = pg_tables_apart
    context = make_context(pg.url(pg.create_database(big_rows=100_000)))

    early = backup_whose_set_up_fails(context)

    assert dump_tools() == []
    assert not early.is_running
    assert scan_target(context.storage(), "bptest").committed == []
