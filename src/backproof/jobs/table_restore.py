"""``restore ID --table T --to URL``: one table of a backup into another, existing database.

Refused before any byte is imported: a backup without a database part or of another engine, a
table the backup does not hold (the line says where its tables are listed), the target's own
database (the live source: restore beside it, then copy what you need), a database that does
not exist, and a table that the database already has unless ``replace``. After the restore the
table's rows are counted against the backup's facts.
"""

from __future__ import annotations

import functools

from backproof.archive.encryption import ReadingKeys
from backproof.archive.manifest import DATA_PART, Manifest
from backproof.archive.reading import open_decoded_part
from backproof.config.models import Settings
from backproof.errors import RestoreError
from backproof.masking import mask_url
from backproof.sources.registry import engine_of, open_database
from backproof.sources.table_restore import facts_table_names, open_table_target
from backproof.storage.base import Storage

SHOWN_TABLES = 8


def find_table(manifest: Manifest, wanted: str) -> str:
    """Return the name of the table ``wanted`` as the backup's facts hold it (PostgreSQL's
    ``public.t`` is ``t`` there).

    Raises RestoreError naming a few of its tables and where to see them all.
    """
    tables = manifest.facts.tables
    engine = manifest.source.engine if manifest.source else ""
    for name in facts_table_names(engine, wanted):
        if name in tables:
            return name
    names = sorted(tables)
    shown = ", ".join(names[:SHOWN_TABLES]) + (", …" if len(names) > SHOWN_TABLES else "")
    raise RestoreError(
        f"backup {manifest.id} has no table {wanted!r} (it has {len(names)}: {shown}); "
        f"`backproof list --json` lists every backup's tables"
    )


def is_same_database(first: str, second: str) -> bool:
    """Return True when two database URLs name the same database (one SQLite file; the same
    server, port and database name, with the local host's names taken as one)."""
    return open_database(first).identity() == open_database(second).identity()


def restore_table_part(
    storage: Storage,
    manifest: Manifest,
    keys: ReadingKeys,
    settings: Settings,
    url: str,
    wanted: str,
    replace: bool,
) -> tuple[str, int]:
    """Restore one table of ``manifest`` into the existing database at ``url``; return the
    table's name in the facts and the rows restored.

    Raises RestoreError for every refusal (see the module), and when the rows restored are not
    the rows of the backup.
    """
    part = manifest.part("db")
    if part is None or manifest.source is None:
        raise RestoreError(f"backup {manifest.id} has no database part")
    if engine_of(url) != manifest.source.engine:
        raise RestoreError(
            f"backup {manifest.id} is a {manifest.source.engine} dump; "
            f"its tables cannot be restored into {engine_of(url)} ({mask_url(url)})"
        )
    table = find_table(manifest, wanted)
    live = settings.target(manifest.target).database
    if live is not None and is_same_database(url, live):
        raise RestoreError(
            f"{mask_url(url)} is the database of target {manifest.target}: restore the table "
            "into another database, then copy what you need from there"
        )
    receiver = open_table_target(url)
    if not receiver.exists():
        raise RestoreError(f"{mask_url(url)} does not exist: create it first")
    if not replace and receiver.has_table(table):
        raise RestoreError(
            f"{mask_url(url)} already has a table {table}: choose another database, "
            "or pass --replace to drop it and restore the backup's"
        )
    data_part = manifest.part(DATA_PART)
    opener = None
    if data_part is not None:  # opened only when the table's rows are there
        opener = functools.partial(open_decoded_part, storage, manifest, data_part, keys)
    with open_decoded_part(storage, manifest, part, keys) as dump:
        receiver.restore_table(dump, part.format, table, replace, opener)
    rows = receiver.count_rows(table)
    expected = manifest.facts.tables[table]
    if rows != expected:
        raise RestoreError(f"table {table} restored with {rows} rows; the backup holds {expected}")
    return table, rows
