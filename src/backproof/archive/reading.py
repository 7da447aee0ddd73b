"""Reading a committed backup back: choose it, prove its integrity, stream its parts decoded."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import BinaryIO

from backproof.archive.catalog import load_manifest, part_key, scan_target
from backproof.archive.manifest import Manifest, Part
from backproof.archive.parts import check_part
from backproof.archive.streams import open_decompressor
from backproof.config.models import Settings
from backproof.errors import NotFoundError
from backproof.storage.base import Storage


def choose_backup(storage: Storage, target: str, backup_id: str | None) -> Manifest:
    """Return the manifest of ``backup_id``, or of the newest committed backup.

    Raises NotFoundError when there is none, IntegrityError when the manifest is invalid.
    """
    if backup_id is not None:
        return load_manifest(storage, target, backup_id)
    listing = scan_target(storage, target)
    if not listing.committed:
        raise NotFoundError(
            f"no committed backup of target {target!r} on {storage.name}: run `backproof backup`"
        )
    return listing.committed[0]


def find_backup(
    storage: Storage, settings: Settings, backup_id: str, target_name: str | None = None
) -> Manifest:
    """Return the manifest of ``backup_id`` in the named target, or in whichever target has it.

    Raises NotFoundError when no target has it on ``storage``.
    """
    names = [target_name] if target_name else [target.name for target in settings.targets]
    for name in names:
        try:
            return load_manifest(storage, name, backup_id)
        except NotFoundError:
            continue
    raise NotFoundError(f"no committed backup {backup_id} on {storage.name}: see `backproof list`")


def check_backup(storage: Storage, manifest: Manifest) -> None:
    """Prove every part matches the manifest's size and checksum, before anything is imported."""
    for part in manifest.parts:
        check_part(storage, part_key(manifest.target, manifest.id, part.file), part)


@contextlib.contextmanager
def open_decoded_part(storage: Storage, manifest: Manifest, part: Part) -> Iterator[BinaryIO]:
    """Yield the part's original bytes: downloaded and decompressed as a stream."""
    with contextlib.closing(
        storage.open_download(part_key(manifest.target, manifest.id, part.file))
    ) as raw:
        decoded = open_decompressor(part.compression, raw)
        try:
            yield decoded
        finally:
            decoded.close()
