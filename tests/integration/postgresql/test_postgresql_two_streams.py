"""The PostgreSQL dump in two streams (issue 12): the largest tables' rows dumped by a second
pg_dump on the same snapshot into a part of their own, with the facts of one stream, and a
failure of either stream stopping the other."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator

import psutil
import pytest
from pg_servers import PgServer

from backproof.archive.streams import Writer
from backproof.errors import StreamStoppedError
from backproof.sources import postgresql_streams
from backproof.sources.postgresql import PostgresqlSource
from backproof.sources.postgresql_archive import read_toc_entries
from backproof.sources.postgresql_labels import table_label

KEY_TABLES = ["companies", "contacts"]


@pytest.fixture
def small_tables_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables of a test's size are large enough to be dumped apart."""
    monkeypatch.setattr(postgresql_streams, "DATA_PART_MIN_BYTES", 256 * 1024)


class MemoryPart:
    """A second part kept in memory (``DataPartSink``); what ``produce`` raised is kept."""

    def __init__(self, writer: Callable[[io.BytesIO], Writer] | None = None) -> None:
        self.data = io.BytesIO()
        self.calls = 0
        self.raised: BaseException | None = None
        self._writer = writer

    def write(self, produce: Callable[[Writer], None]) -> None:
        self.calls += 1
        try:
            produce(self._writer(self.data) if self._writer else self.data)
        except BaseException as error:
            self.raised = error
            raise


class FailingWriter:
    """Takes ``limit`` bytes, then raises OSError (a destination that filled up)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0

    def write(self, data: bytes, /) -> int:
        if self.taken + len(data) > self.limit:
            raise OSError("no space left on the destination")
        self.taken += len(data)
        return len(data)


class SlowWriter:
    """Takes every chunk, slowly (a second part still being written)."""

    def __init__(self, into: io.BytesIO) -> None:
        self.into = into

    def write(self, data: bytes, /) -> int:
        time.sleep(0.05)
        return self.into.write(data)


def table_data(archive: bytes) -> set[str]:
    """Return the tables whose rows ``archive`` holds."""
    entries = read_toc_entries(archive)
    assert entries is not None
    return {
        table_label(entry.namespace, str(entry.tag))
        for entry in entries
        if entry.description == "TABLE DATA"
    }


def running_dumps() -> list[psutil.Process]:
    """Return the pg_dump processes under this test process, once the dying ones are gone."""
    deadline = time.monotonic() + 10
    while True:
        found = []
        for child in psutil.Process().children(recursive=True):
            try:
                if child.name() == "pg_dump" and child.status() != psutil.STATUS_ZOMBIE:
                    found.append(child)
            except psutil.Error:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.fixture
def database(pg: PgServer) -> Iterator[str]:
    """The CRM with 20,000 rows in big_table, its largest table."""
    yield pg.create_database(big_rows=20_000)


def test_the_largest_tables_rows_are_dumped_into_the_second_part_and_nowhere_else(
    pg: PgServer, database: str, small_tables_apart: None
) -> None:
    first, second = io.BytesIO(), MemoryPart()

    info = PostgresqlSource.from_url(pg.url(database)).dump(first, KEY_TABLES, 20, second)

    apart = table_data(second.data.getvalue())
    assert "big_table" in apart
    assert table_data(first.getvalue()).isdisjoint(apart)
    assert table_data(first.getvalue()) | apart == set(info.facts.tables)
    assert info.facts.tables["big_table"] == 20_000
    assert set(info.facts.digests) == set(info.facts.tables)
    assert info.facts.warnings == []


def test_two_streams_record_the_facts_one_stream_records(
    pg: PgServer, database: str, small_tables_apart: None
) -> None:
    source = PostgresqlSource.from_url(pg.url(database))

    two = source.dump(io.BytesIO(), KEY_TABLES, 20, MemoryPart())
    one = source.dump(io.BytesIO(), KEY_TABLES, 20)

    assert two.facts == one.facts


def test_a_database_without_a_large_table_is_dumped_in_one_stream(
    pg: PgServer, database: str
) -> None:
    second = MemoryPart()

    info = PostgresqlSource.from_url(pg.url(database)).dump(io.BytesIO(), KEY_TABLES, 20, second)

    assert second.calls == 0
    assert info.facts.tables["big_table"] == 20_000


def test_a_second_part_that_fails_fails_the_dump_with_its_error_and_leaves_no_pg_dump(
    pg: PgServer, database: str, small_tables_apart: None
) -> None:
    second = MemoryPart(lambda _: FailingWriter(limit=1024))

    with pytest.raises(OSError, match="no space left"):
        PostgresqlSource.from_url(pg.url(database)).dump(io.BytesIO(), KEY_TABLES, 20, second)

    assert running_dumps() == []


def test_a_first_stream_that_fails_stops_the_second_and_raises_its_own_error(
    pg: PgServer, database: str, small_tables_apart: None
) -> None:
    second = MemoryPart(SlowWriter)

    with pytest.raises(OSError, match="no space left"):
        PostgresqlSource.from_url(pg.url(database)).dump(
            FailingWriter(limit=64 * 1024), KEY_TABLES, 20, second
        )

    assert isinstance(second.raised, StreamStoppedError)
    assert running_dumps() == []
