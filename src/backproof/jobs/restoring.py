"""The one path from a stored backup into a database, shared by restore and verify.

The database part is checked and decoded by ``archive.reading`` and streamed into the source;
restore then checks nothing more, verify compares what arrived with the facts of the dump.
"""

from __future__ import annotations

import dataclasses
import functools
import time

from backproof.archive.encryption import ReadingKeys
from backproof.archive.manifest import DATA_PART, Manifest
from backproof.archive.reading import open_decoded_part
from backproof.errors import RestoreError
from backproof.sources.base import DatabaseSource, RestoreOptions
from backproof.storage.base import Storage


def restore_database_part(
    storage: Storage,
    manifest: Manifest,
    keys: ReadingKeys,
    database: DatabaseSource,
    options: RestoreOptions | None = None,
) -> float:
    """Stream the database part of ``manifest`` into the empty ``database`` (in parallel as
    far as ``options`` allow), and its second stream (``DATA_PART``) when it was dumped in
    two; return the seconds it took.

    Raises RestoreError when the backup has no database part.
    """
    part = manifest.part("db")
    if part is None:
        raise RestoreError(f"backup {manifest.id} has no database part")
    options = options or RestoreOptions()
    data_part = manifest.part(DATA_PART)
    if data_part is not None:
        # Opened when the restore reaches it (a download kept idle meanwhile could time out).
        opener = functools.partial(open_decoded_part, storage, manifest, data_part, keys)
        options = dataclasses.replace(options, data_part=opener)
    started = time.monotonic()
    with open_decoded_part(storage, manifest, part, keys) as dump:
        database.restore(dump, part.format, options)
    return round(time.monotonic() - started, 3)
