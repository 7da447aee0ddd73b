"""The manifest of a backup: what it holds, how each part is stored, and the facts of the dump.

A backup exists only once its manifest is committed; the manifest is written last.
"""

import secrets
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1
# The second stream of a database dump in two (PostgreSQL, issue 12): the data of the largest
# tables, dumped beside the part ``db`` on the same snapshot; restored between that part's data
# and its indexes and constraints.
DATA_PART = "db-data"
# The order of the parts in a manifest.
PART_ORDER = ("db", DATA_PART, "files")
ID_TIME_FORMAT = "%Y%m%dT%H%M%SZ"


class Strict(BaseModel):
    """Manifest sections reject unknown keys so a tampered or foreign file does not parse."""

    model_config = ConfigDict(extra="forbid")


class SampledRows(Strict):
    """Checksums of sampled rows of one key table, keyed by the row's primary key."""

    key_columns: list[str]
    rows: dict[str, str]


class FilesFacts(Strict):
    """What the files archive contained."""

    entries: int = 0
    regular_files: int = 0
    total_bytes: int = 0
    tree_sha256: str = ""


class TableDigest(Strict):
    """An order-independent digest of every row of one table (``sources.table_digests``)."""

    rows: int
    digest: str


class Facts(Strict):
    """What the dump contained, recorded while dumping; verify compares a restore against it."""

    tables: dict[str, int] = Field({}, description="table -> row count")
    samples: dict[str, SampledRows] = Field({})
    objects: dict[str, int] = Field(
        {}, description="kind -> count: views, triggers, routines, events"
    )
    files: FilesFacts | None = None
    digests: dict[str, TableDigest] = Field(
        {}, description="table -> digest of all its rows (older: empty)"
    )
    digest_method: str = Field("", description="how the digests were made; empty: none")
    exact: bool = True
    warnings: list[str] = Field([])


class Part(Strict):
    """One stream stored as one object."""

    name: Literal["db", "db-data", "files"]
    file: str
    format: str
    size_bytes: int
    sha256: str
    compression: Literal["zstd", "gzip"]
    encryption: Literal["age"] | None = None
    raw_size_bytes: int = 0


class SourceInfo(Strict):
    """The engine and versions the dump came from."""

    engine: str
    server_version: str = ""
    client_version: str = ""
    database: str = ""


class Manifest(Strict):
    """A committed backup."""

    format_version: int = FORMAT_VERSION
    id: str
    target: str
    created_at: datetime
    finished_at: datetime
    tool_version: str
    host: str
    source: SourceInfo | None = None
    parts: list[Part]
    facts: Facts
    destinations: list[str] = Field([])
    authentication: str | None = Field(None, description="MAC or signature of the manifest")

    def part(self, name: str) -> Part | None:
        """Return the part called ``name``, or None when the backup has none."""
        return next((part for part in self.parts if part.name == name), None)

    @property
    def size_bytes(self) -> int:
        """Total stored size of the parts."""
        return sum(part.size_bytes for part in self.parts)

    @property
    def database_raw_size_bytes(self) -> int | None:
        """The size of the database's dump before compression (its two streams', when it
        was dumped in two); None for a backup without a database."""
        parts = [part for part in self.parts if part.name in ("db", DATA_PART)]
        return sum(part.raw_size_bytes for part in parts) if parts else None


def new_backup_id(now: datetime) -> str:
    """Return a backup id that sorts by time: ``20261126T010000Z-<ms><3 hex>``."""
    # The suffix starts with the milliseconds, so ids made within one second still sort by time
    # (verify takes the newest by id); three random hex digits keep concurrent ids apart.
    moment = now.astimezone(UTC)
    milliseconds = moment.microsecond // 1000
    return f"{moment.strftime(ID_TIME_FORMAT)}-{milliseconds:03d}{secrets.token_hex(2)[:3]}"


def parse_backup_time(backup_id: str) -> datetime | None:
    """Return the UTC time encoded in a backup id, or None when it is not one of ours."""
    stamp = backup_id.split("-", 1)[0]
    try:
        return datetime.strptime(stamp, ID_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
