"""One table of a PostgreSQL backup dumped in two streams: its rows from the second.

In a backup dumped in two streams (``postgresql_sections``) the part ``db`` holds the table's
definition and the part ``db-data`` its rows. The entries picked from the first
(``postgresql_table``) are then restored around the rows, each step in one transaction:
the pre-data ones (the table, its sequences and defaults; dropped first when ``replace``) with
the values of its sequences (their ``SEQUENCE SET``, of the data section but held in the table
of contents), then the rows from the data part, then the post-data ones (indexes, primary
key, constraints) once the rows are in. The first step reads the ``db`` archive's header and
table of contents alone, as does the last. A failure after the first drops the table again: no
table without its rows stays (with ``replace``, the table it replaced is gone already).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from backproof.errors import SourceError
from backproof.process import Command, write_pipeline
from backproof.sources.base import DataPartOpener
from backproof.sources.postgresql_archive import (
    TocEntry,
    read_complete_table_of_contents,
    read_toc_entries,
)
from backproof.sources.postgresql_sections import read_archive_head
from backproof.storage.base import CHUNK_BYTES

if TYPE_CHECKING:
    from backproof.sources.postgresql_table import PostgresqlTable

logger = logging.getLogger(__name__)
# The first step's: the table's definition and its sequences' values (the table's own rows
# are not in the ``db`` archive, so its data section holds nothing else of it).
PRE_DATA_AND_DATA = ("--section=pre-data", "--section=data")
DATA = ("--section=data",)
POST_DATA = ("--section=post-data",)


def restore_rows_from_part(
    receiver: PostgresqlTable,
    label: str,
    head: bytes,
    picked: list[int],
    data_part: DataPartOpener,
    replace: bool,
) -> bool:
    """Restore the entries ``picked`` from the ``db`` archive's ``head`` around the rows of
    the table ``label`` from ``data_part``; return False (having restored nothing) when that
    part holds no rows of the table.

    Raises RestoreError when the data part cannot be read, PipelineError when pg_restore
    fails (the table is then dropped), what opening the part raises (IntegrityError…).
    """
    from backproof.sources.postgresql_table import split_label  # noqa: PLC0415 - a cycle

    schema, name = split_label(label)
    contents = read_complete_table_of_contents(head)
    definitions = head if contents is None else head[: contents.end]
    with data_part() as side:
        side_head, side_entries = read_head(side)
        rows = [
            entry.dump_id
            for entry in side_entries
            if entry.description == "TABLE DATA" and (entry.namespace, entry.tag) == (schema, name)
        ]
        if not rows:
            return False
        with tempfile.TemporaryDirectory(prefix="backproof-") as folder:
            listing = write_listing(Path(folder), picked)
            _feed(receiver.command(listing, replace, PRE_DATA_AND_DATA), definitions)
            try:
                rows_listing = write_listing(Path(folder), rows)
                _feed(receiver.command(rows_listing, False, DATA), side_head, side)
                _feed(receiver.command(listing, False, POST_DATA), definitions)
            except BaseException:
                _drop_quietly(receiver, label)
                raise
    return True


def _feed(command: Command, head: bytes, rest: BinaryIO | None = None) -> None:
    """Run pg_restore ``command`` on ``head`` and then what ``rest`` holds (it may stop
    reading once it has what it picked)."""

    def produce(feed: BinaryIO) -> None:
        feed.write(head)
        while rest is not None and (chunk := rest.read(CHUNK_BYTES)):
            feed.write(chunk)

    write_pipeline([command], produce, may_stop_reading=True)


def _drop_quietly(receiver: PostgresqlTable, label: str) -> None:
    try:
        receiver.drop_table(label)
    except SourceError as exc:  # the restore's own error is the one raised
        logger.warning("the table %s left by a failed restore stays: %s", label, exc)


def write_listing(folder: Path, dump_ids: Sequence[int]) -> Path:
    """Write the list of entries ``dump_ids`` for ``pg_restore --use-list``; return it."""
    listing = folder / f"picked-{len(list(folder.iterdir()))}.list"
    listing.write_text("".join(f"{dump_id};\n" for dump_id in dump_ids), "utf-8")
    return listing


def read_head(dump: BinaryIO) -> tuple[bytes, list[TocEntry]]:
    """Read the head of ``dump`` until its table of contents is whole; return the bytes read
    and the entries. Raises RestoreError when the archive ends first or is not one."""
    chunks, contents = read_archive_head(dump, "the archive")
    return b"".join(chunks), read_toc_entries(contents) or []
