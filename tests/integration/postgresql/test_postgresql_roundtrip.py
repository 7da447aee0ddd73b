"""PostgreSQL end to end through the source: dump, restore into a scratch database, compare."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_servers import ContextMaker, PgServer
from psycopg import sql

from backproof.archive.catalog import scan_target
from backproof.comparison import compare_database_facts
from backproof.errors import PipelineError
from backproof.jobs.backup import run_backup
from backproof.jobs.verify import run_verify
from backproof.process import Command
from backproof.sources import postgresql as postgresql_module
from backproof.sources import postgresql_digests
from backproof.sources.registry import open_database
from scratch_databases import Scratch, scratch_database

KEY_TABLES = ["companies", "contacts", "Order", "audit_log", "sales.deals", "sales.events"]


def fingerprints(server: PgServer, database: str) -> dict[str, tuple[object, ...]]:
    """Return, per table, its row count and an order-independent hash of its rows' text."""
    with server.connect(database) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        tables = connection.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        result = {}
        for schema, table in tables:
            query = sql.SQL("SELECT count(*), sum(hashtextextended(row::text, 0)) FROM {} AS row")
            row = connection.execute(query.format(sql.Identifier(schema, table))).fetchone()
            result[f"{schema}.{table}"] = tuple(row or ())
        return result


def scalar(server: PgServer, database: str, query: str) -> object:
    """Return the one value of ``query``."""
    with server.connect(database) as connection:
        row = connection.execute(query).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None


@pytest.fixture
def scratch(pg: PgServer) -> Iterator[Scratch]:
    """A scratch database on the shared server (dropped after)."""
    with scratch_database(pg.url("postgres")) as made:
        yield made


def test_restore_reproduces_every_table_value_and_object_of_the_crm(
    pg: PgServer, scratch: Scratch
) -> None:
    database = pg.create_database(big_rows=1000)
    source = open_database(pg.url(database))
    dump = io.BytesIO()
    info = source.dump(dump, KEY_TABLES, 50)
    dump.seek(0)
    scratch.database.restore(dump, info.format)
    restored = scratch.name

    assert compare_database_facts(info.facts, scratch.database.inspect(info.facts)) == []
    assert fingerprints(pg, restored) == fingerprints(pg, database)
    assert scalar(pg, restored, "SELECT last_value FROM sales.invoice_numbers") == 4242
    assert (
        scalar(
            pg, restored, "SELECT convert_from(lo_get(content), 'UTF8') FROM documents WHERE id = 1"
        )
        == "Obsah smlouvy 🖋️"
    )
    assert scalar(pg, restored, "SELECT obj_description('companies'::regclass)") == (
        "Firmy – zákazníci 🏢"
    )
    assert scalar(pg, restored, "SELECT count(*) FROM company_contacts") == 300
    assert scalar(pg, restored, "SELECT nextval('contacts_id_seq')") == 2001


def test_facts_name_tables_counts_objects_and_samples_of_every_kind(pg: PgServer) -> None:
    database = pg.create_database(big_rows=10)
    info = open_database(pg.url(database)).dump(io.BytesIO(), KEY_TABLES, 20)
    facts = info.facts

    assert facts.tables["sales.events_2025"] + facts.tables["sales.events_2026"] == 400
    assert facts.tables["empty_table"] == 0
    assert facts.tables["Order"] == 2
    assert facts.tables["audit_log"] == 43
    assert "sales.events" not in facts.tables  # partitioned: its rows are its partitions'
    assert facts.objects["views"] == 1
    assert facts.objects["materialized_views"] == 1
    assert facts.objects["partitioned_tables"] == 1
    assert facts.objects["triggers"] == 1
    assert facts.objects["routines"] == 1
    assert facts.objects["types"] == 3
    assert facts.objects["large_objects"] == 2
    assert facts.objects["schemas"] == 1
    assert facts.objects["comments"] == 2
    assert len(facts.samples["contacts"].rows) == 20
    assert facts.samples["Order"].key_columns == ["Id"]
    assert facts.samples["sales.events"].key_columns == ["id", "happened"]
    assert facts.samples["audit_log"].key_columns == []  # no primary key: rows by checksum
    assert info.source.engine == "postgresql"
    assert info.source.client_version.startswith("pg_dump ")
    assert info.format == "postgresql-custom"


def test_verify_matches_exactly_although_the_application_writes_throughout_the_backup(
    pg: PgServer, make_context: ContextMaker
) -> None:
    database = pg.create_database(big_rows=1_000_000)
    context = make_context(pg.url(database), key_tables=["companies", "contacts", "big_table"])
    writes = 0
    stop = threading.Event()

    def write_like_the_application() -> None:
        nonlocal writes
        with pg.connect(database) as connection:
            while not stop.is_set():
                writes += 1
                with connection.transaction():
                    connection.execute(
                        "INSERT INTO big_table VALUES (%s, 'nový řádek')", (2_000_000 + writes,)
                    )
                    connection.execute(
                        "UPDATE contacts SET balance = balance + 1 WHERE id = %s",
                        (writes % 2000 + 1,),
                    )
                    connection.execute("DELETE FROM big_table WHERE id = %s", (writes,))

    writer = threading.Thread(target=write_like_the_application)
    writer.start()
    try:
        writes_before = writes
        backup = run_backup(context)
        writes_during = writes - writes_before
    finally:
        stop.set()
        writer.join()
    verify = run_verify(context)

    assert writes_during > 0
    assert verify.backup_id == backup.backup_id
    assert verify.rows == sum(
        scan_target(context.storage(), "bptest").committed[0].facts.tables.values()
    )


def test_tampered_dump_with_a_shell_meta_command_runs_no_command(
    pg: PgServer, scratch: Scratch, tmp_path: Path
) -> None:
    database = pg.create_database()
    placeholder = "P" * 200
    with pg.connect(database) as connection:
        connection.execute("""INSERT INTO "Order" VALUES (3, %s, NULL, NULL)""", (placeholder,))
    dump = io.BytesIO()
    info = open_database(pg.url(database)).dump(dump, ["companies"], 5)
    witness = tmp_path / "pwned"
    planted = f"x\n\\! touch {witness}\nx".ljust(len(placeholder))
    assert dump.getvalue().count(placeholder.encode()) == 1
    tampered = io.BytesIO(dump.getvalue().replace(placeholder.encode(), planted.encode()))

    with pytest.raises(PipelineError, match="pg_restore exited with code 1"):
        scratch.database.restore(tampered, info.format)

    assert not witness.exists()


def test_backup_and_read_back_dumps_write_their_output_a_mebibyte_at_a_time(
    pg: PgServer, scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = pg.create_database(big_rows=50)
    started: list[tuple[str, ...]] = []
    real_backup_pipeline = postgresql_module.read_pipeline
    real_digest_pipeline = postgresql_digests.read_pipeline

    def recorded(real: Any) -> Any:
        def pipeline(commands: list[Command], consume: Any, **options: Any) -> Any:
            started.extend(command.argv for command in commands)
            return real(commands, consume, **options)

        return pipeline

    monkeypatch.setattr(postgresql_module, "read_pipeline", recorded(real_backup_pipeline))
    monkeypatch.setattr(postgresql_digests, "read_pipeline", recorded(real_digest_pipeline))
    dump = io.BytesIO()
    info = open_database(pg.url(database)).dump(dump, KEY_TABLES, 5)
    dump.seek(0)
    scratch.database.restore(dump, info.format)
    restored = scratch.database.inspect(info.facts)

    dumps = [argv for argv in started if "pg_dump" in (Path(part).name for part in argv)]
    assert any(any(part.startswith("--snapshot=") for part in argv) for argv in dumps)  # backup
    assert any("--data-only" in argv for argv in dumps)  # the read-back of the restored copy
    for argv in dumps:
        assert (Path(argv[0]).name, argv[1], Path(argv[2]).name) == (
            "stdbuf",
            "--output=1M",
            "pg_dump",
        )
    assert restored.digests == info.facts.digests
    assert compare_database_facts(info.facts, restored) == []
