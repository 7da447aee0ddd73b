"""A dump in two streams (issue 12) restored: the ``db`` archive's sections around the
``db-data`` archive (the largest tables' rows), streamed and from the spool, and one table of
it; the two archives made here by pg_dump on one exported snapshot, as a backup makes them."""

from __future__ import annotations

import contextlib
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import psycopg
import pytest
from pg_servers import PgServer
from test_postgresql_roundtrip import KEY_TABLES, fingerprints, scalar

from backproof.errors import IntegrityError, PipelineError, RestoreError
from backproof.sources.base import DataPartOpener, RestoreOptions
from backproof.sources.postgresql_digests import table_pattern
from backproof.sources.postgresql_table import PostgresqlTable
from backproof.sources.registry import open_database
from scratch_databases import Scratch, scratch_database

FORMAT = "postgresql-custom"
# Referenced by the foreign keys of contacts and sales.deals; owns a sequence.
SIDE_TABLES = [("public", "companies"), ("public", "big_table")]
_INDEXES = "SELECT count(*) FROM pg_indexes WHERE schemaname IN ('public', 'sales')"
_FOREIGN_KEYS = "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated"


@pytest.fixture
def scratch(pg: PgServer) -> Iterator[Scratch]:
    """A scratch database on the shared server (dropped after)."""
    with scratch_database(pg.url("postgres")) as made:
        yield made


def two_part_dump(pg: PgServer, database: str) -> tuple[bytes, bytes]:
    """Return the ``db`` and ``db-data`` archives of ``database``, dumped on one snapshot."""
    patterns = [table_pattern(schema, name) for schema, name in SIDE_TABLES]
    base = ["pg_dump", "--format=custom", "--compress=0", f"--dbname={pg.url(database)}"]
    with psycopg.connect(pg.url(database)) as connection:
        connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        row = connection.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        on_snapshot = [*base, f"--snapshot={row[0]}"]
        db = [*on_snapshot, *(f"--exclude-table-data={pattern}" for pattern in patterns)]
        side = [*on_snapshot, "--data-only", *(f"--table={pattern}" for pattern in patterns)]
        dumped = [
            subprocess.run(argv, stdout=subprocess.PIPE, check=True).stdout for argv in (db, side)
        ]
    return dumped[0], dumped[1]


def opener(data: bytes) -> DataPartOpener:
    """Return what opens ``data`` as the decoded data part."""

    @contextlib.contextmanager
    def open_part() -> Iterator[BinaryIO]:
        yield io.BytesIO(data)

    return open_part


def restore_processes(database: str) -> list[int]:
    """Return the pg_restore processes (workers included) into ``database`` still running."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"pg_restore") and any(database.encode() in arg for arg in argv):
            found.append(int(entry.name))
    return found


def test_the_archives_split_the_side_tables_rows_from_the_rest(pg: PgServer) -> None:
    db, side = two_part_dump(pg, pg.create_database(big_rows=100))

    assert b"Firmy" in db  # the comment on companies: its definition is in db
    assert "Pražské strojírny".encode() not in db  # its rows are not
    assert "Pražské strojírny".encode() in side
    assert b"kontakt1@" in db and b"kontakt1@" not in side


@pytest.mark.parametrize("jobs", [1, 2])
def test_two_parts_restore_every_row_index_and_foreign_key_of_the_source(
    pg: PgServer, scratch: Scratch, tmp_path: Path, jobs: int
) -> None:
    source = pg.create_database(big_rows=1000)
    db, side = two_part_dump(pg, source)
    options = RestoreOptions(
        jobs=jobs, spool_dir=tmp_path, raw_size_bytes=len(db), data_part=opener(side)
    )

    scratch.database.restore(io.BytesIO(db), FORMAT, options)

    restored = scratch.name
    assert fingerprints(pg, restored) == fingerprints(pg, source)
    # Post-data ran after the side rows: the foreign keys to companies were validated.
    assert scalar(pg, restored, _FOREIGN_KEYS) == scalar(pg, source, _FOREIGN_KEYS) == 2
    assert scalar(pg, restored, _INDEXES) == scalar(pg, source, _INDEXES)
    assert scalar(pg, restored, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal") == 1
    assert scalar(pg, restored, "SELECT last_value FROM companies_id_seq") == 300
    assert scalar(pg, restored, "SELECT count(*) FROM pg_largeobject_metadata") == 2
    assert list(tmp_path.iterdir()) == []


def test_a_parallel_restore_of_two_parts_reads_back_the_digests_of_the_dump(
    pg: PgServer, scratch: Scratch, tmp_path: Path
) -> None:
    source = pg.create_database(big_rows=1000)
    expected = open_database(pg.url(source)).dump(io.BytesIO(), KEY_TABLES, 50).facts
    db, side = two_part_dump(pg, source)
    options = RestoreOptions(
        jobs=2,
        spool_dir=tmp_path,
        raw_size_bytes=len(db),
        digest_method=expected.digest_method,
        data_part=opener(side),
    )

    scratch.database.restore(io.BytesIO(db), FORMAT, options)
    restored = scratch.database.inspect(expected)

    assert restored.digests == expected.digests
    assert restored.tables == expected.tables
    assert {"companies", "big_table"} <= set(expected.digests)


def test_restore_force_of_two_parts_replaces_what_the_database_held(pg: PgServer) -> None:
    source = pg.create_database(big_rows=200)
    db, side = two_part_dump(pg, source)
    target = pg.create_database(big_rows=5)  # not a scratch: restored as the URL's user
    options = RestoreOptions(data_part=opener(side))

    open_database(pg.url(target)).restore(io.BytesIO(db), FORMAT, options)

    assert fingerprints(pg, target) == fingerprints(pg, source)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_data_part_that_fails_to_restore_raises_and_leaves_no_pg_restore_running(
    pg: PgServer, scratch: Scratch, tmp_path: Path, jobs: int
) -> None:
    source = pg.create_database(big_rows=1000)
    with pg.connect(source) as connection:  # a data section that takes a while
        connection.execute(
            "INSERT INTO audit_log SELECT now(), 'import ' || g, json_build_object('n', g) "
            "FROM generate_series(1, 400000) AS g"
        )
    db, side = two_part_dump(pg, source)
    cut = side[: len(side) // 20]  # inside the first table's rows: fails at once
    options = RestoreOptions(
        jobs=jobs, spool_dir=tmp_path, raw_size_bytes=len(db), data_part=opener(cut)
    )

    with pytest.raises(PipelineError, match="pg_restore exited with code 1") as caught:
        scratch.database.restore(io.BytesIO(db), FORMAT, options)

    assert "--data-only" in str(caught.value)
    assert restore_processes(scratch.name) == []
    # The post-data never ran: no foreign key points at the incomplete table.
    assert scalar(pg, scratch.name, _FOREIGN_KEYS) == 0
    # The db part's data loaded beside it: stopped before its largest table was in.
    assert scalar(pg, scratch.name, "SELECT count(*) FROM audit_log") == 0


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_data_part_that_cannot_be_opened_raises_its_error(
    pg: PgServer, scratch: Scratch, tmp_path: Path, jobs: int
) -> None:
    db, _side = two_part_dump(pg, pg.create_database(big_rows=1000))

    @contextlib.contextmanager
    def tampered() -> Iterator[BinaryIO]:
        raise IntegrityError("part db-data.pgdump.zst: checksum mismatch")
        yield io.BytesIO()  # pragma: no cover - never reached

    options = RestoreOptions(
        jobs=jobs, spool_dir=tmp_path, raw_size_bytes=len(db), data_part=tampered
    )

    with pytest.raises(IntegrityError, match="checksum mismatch"):
        scratch.database.restore(io.BytesIO(db), FORMAT, options)

    assert restore_processes(scratch.name) == []


@pytest.mark.parametrize("replace", [False, True])
def test_one_table_whose_rows_are_in_the_data_part_restores_with_them(
    pg: PgServer, replace: bool
) -> None:
    source = pg.create_database(big_rows=500)
    db, side = two_part_dump(pg, source)
    other = pg.create_database(crm=False)
    with pg.connect(other) as connection:
        connection.execute("CREATE TYPE postal_address AS (street text, city text, zip char(5))")
        if replace:
            connection.execute("CREATE TABLE big_table (id int, old text)")
            connection.execute("INSERT INTO big_table VALUES (1, 'stará')")
    receiver = PostgresqlTable(pg.url(other))

    receiver.restore_table(io.BytesIO(db), FORMAT, "big_table", replace, opener(side))
    receiver.restore_table(io.BytesIO(db), FORMAT, "companies", False, opener(side))
    receiver.restore_table(io.BytesIO(db), FORMAT, "audit_log", False, opener(side))

    assert receiver.count_rows("big_table") == 500
    assert receiver.count_rows("companies") == 300
    assert receiver.count_rows("audit_log") == 43  # its rows came from db
    assert fingerprints(pg, other) == {
        label: print_
        for label, print_ in fingerprints(pg, source).items()
        if label in {"public.big_table", "public.companies", "public.audit_log"}
    }
    primary_keys = (
        "SELECT count(*) FROM pg_constraint WHERE contype = 'p' "
        "AND connamespace = 'public'::regnamespace"
    )
    assert scalar(pg, other, primary_keys) == 2
    # The sequence companies owns goes on from where the source's was.
    next_id = "SELECT last_value FROM companies_id_seq"
    assert scalar(pg, other, next_id) == scalar(pg, source, next_id)


def test_one_table_whose_rows_fail_to_restore_is_not_left_behind(pg: PgServer) -> None:
    db, side = two_part_dump(pg, pg.create_database(big_rows=50_000))
    other = pg.create_database(crm=False)
    receiver = PostgresqlTable(pg.url(other))
    cut = side[: side.index(b"25000\t")]  # inside big_table's rows

    with pytest.raises(PipelineError):
        receiver.restore_table(io.BytesIO(db), FORMAT, "big_table", False, opener(cut))

    assert not receiver.has_table("big_table")


def test_a_database_part_cut_inside_its_table_of_contents_restores_nothing(
    pg: PgServer, scratch: Scratch
) -> None:
    db, side = two_part_dump(pg, pg.create_database(big_rows=10))
    options = RestoreOptions(data_part=opener(side))

    with pytest.raises(RestoreError, match="ends inside its table of contents"):
        scratch.database.restore(io.BytesIO(db[:300]), FORMAT, options)

    assert scratch.database.is_empty()
