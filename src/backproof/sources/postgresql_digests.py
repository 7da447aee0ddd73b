"""PostgreSQL table digests: of the dump stream at backup time, of a restored copy at verify.

Both sides read a pg_dump custom archive with ``postgresql_archive.ArchiveDigester``: at backup
time the backup's own stream as it passes (the source is not read twice), at verify time an
uncompressed data-only dump of the restored scratch database. Both pg_dump runs use the same
session settings (pg_dump's own: ISO dates, ``postgres`` intervals, shortest exact floats) and
``PGTZ=UTC``, so every value prints the same text on both sides.
"""

from __future__ import annotations

import logging
from typing import BinaryIO

from backproof.archive.manifest import TableDigest
from backproof.process import Command, read_pipeline
from backproof.sources.postgresql_archive import (
    LINE_METHOD_64,
    LINE_METHOD_128,
    METHOD_BITS,
    ArchiveDigester,
    ArchiveFormatError,
)
from backproof.sources.postgresql_tools import (
    CANONICAL_ENVIRONMENT,
    DUMP_TOOL,
    conninfo,
    tool_environment,
)
from backproof.sources.prefetch import read_ahead
from backproof.sources.server_urls import ServerUrl
from backproof.sources.table_digests import require_known_method
from backproof.storage.base import CHUNK_BYTES

logger = logging.getLogger(__name__)
# What a backup records; a verify computes what its manifest names (``METHOD_BITS``).
DIGEST_METHOD = LINE_METHOD_64


class DumpDigests:
    """Digests the backup's archive as it passes; a stream it cannot read only loses them."""

    def __init__(self) -> None:
        self._digester: ArchiveDigester | None = ArchiveDigester(DIGEST_METHOD)
        self.problem = ""

    def feed(self, chunk: bytes) -> None:
        """Read the next bytes of the archive (after the first problem, nothing more)."""
        if self._digester is None:
            return
        try:
            self._digester.feed(chunk)
        except ArchiveFormatError as exc:
            self._give_up(str(exc))

    def row_counts(self) -> dict[str, int]:
        """Return the rows of each table the stream held (none when it could not be read)."""
        if self._digester is None:
            return {}
        try:
            return {table: digest.rows for table, digest in self._digester.finish().items()}
        except ArchiveFormatError:
            return {}

    def result(self, counts: dict[str, int]) -> tuple[dict[str, TableDigest], list[str]]:
        """Return the digests of the tables whose rows agree with ``counts`` (read in the
        dump's snapshot), and a warning for each table without a digest."""
        if self._digester is None:
            return {}, [f"table digests not recorded: {self.problem}"]
        try:
            digests = self._digester.finish()
        except ArchiveFormatError as exc:
            return {}, [f"table digests not recorded: {exc}"]
        kept = {
            table: digest
            for table, digest in digests.items()
            if table in counts and digest.rows == counts[table]
        }
        warnings = [
            f"table {table}: no digest recorded (the dump's rows could not be read apart)"
            for table in sorted(set(counts) - set(kept))
        ]
        return kept, warnings

    def _give_up(self, reason: str) -> None:
        logger.warning("table digests not recorded: %s", reason)
        self.problem = reason
        self._digester = None


def data_dump_command(server: ServerUrl, password: str | None, database: str) -> Command:
    """Return an uncompressed data-only pg_dump of ``database`` (custom format), for digests."""
    argv = (
        DUMP_TOOL,
        "--format=custom",
        "--compress=0",
        "--data-only",
        "--no-password",
        f"--dbname={conninfo(server, database)}",
    )
    return Command(
        name=DUMP_TOOL,
        argv=argv,
        env={**tool_environment(password), **CANONICAL_ENVIRONMENT},
        secrets=(password,) if password else (),
    )


def verify_method(recorded: str) -> str:
    """Return the digest method that recomputes digests a manifest records with ``recorded``
    (a manifest without a name has the first one's).

    Raises SourceError for a method this version does not know (a newer backproof's).
    """
    method = recorded or LINE_METHOD_128
    require_known_method(method, METHOD_BITS)
    return method


def digest_database(
    server: ServerUrl, password: str | None, database: str, method: str = DIGEST_METHOD
) -> dict[str, TableDigest]:
    """Return the digest of every table of ``database`` (a restored copy), made with
    ``method`` (a key of ``METHOD_BITS``).

    Raises PipelineError when pg_dump fails, ArchiveFormatError when its output is unreadable.
    """

    def consume(stream: BinaryIO) -> dict[str, TableDigest]:
        # Read ahead: pg_dump goes on writing while the rows are hashed (the sum of both
        # otherwise; a pipe holds 64 KiB).
        digester = ArchiveDigester(method)
        for chunk in read_ahead(stream, CHUNK_BYTES):
            digester.feed(chunk)
        return digester.finish()

    return read_pipeline([data_dump_command(server, password, database)], consume)
