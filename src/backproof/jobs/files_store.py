"""The jobs' way into the files store: where its local caches and key live, which backups use it.

Backups of targets with ``files_format = "store"`` (the default) write their files there; the
tar part of older backups (format ``tar``) is still read by verify, restore and check.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backproof.filestore.entries import DUMP_FORMAT

if TYPE_CHECKING:
    from backproof.archive.manifest import Manifest
    from backproof.config.models import Settings, TargetSettings
    from backproof.filestore.addressing import AddressKey
    from backproof.filestore.writer import FilesStoreSession
    from backproof.storage.base import Storage


def cache_dir(settings: Settings) -> Path:
    """Return the folder of the store's local caches (and default key), beside the locks."""
    return settings.state.lock_dir.parent / "filestore"


def writing_key(settings: Settings) -> AddressKey:
    """Return the address key backups name blobs with: keyed when encryption is on."""
    from backproof.filestore.addressing import AddressKey, load_or_create_key  # noqa: PLC0415

    if not settings.encryption.recipients:
        return AddressKey()
    path = settings.encryption.address_key_file or cache_dir(settings) / "address.key"
    return load_or_create_key(path)


def uses_store(manifest: Manifest) -> bool:
    """Return True when the backup's files part is a file list of the store."""
    part = manifest.part("files")
    return part is not None and part.format == DUMP_FORMAT


def open_files_session(
    settings: Settings, target: TargetSettings, backup_id: str, storages: dict[str, Storage]
) -> FilesStoreSession:
    """Return a session writing ``target``'s files to the store of ``storages``, opened (its
    markers written, the indexes read). Raises StorageError when no destination opens."""
    # The writer (and its chunker) loads only for a backup that stores files: verify, restore
    # and scrub read this module for ``uses_store`` and ``cache_dir`` (issue 12).
    from backproof.archive.encryption import parse_recipients  # noqa: PLC0415
    from backproof.filestore.writer import FilesStoreSession, StoreOptions  # noqa: PLC0415

    options = StoreOptions(
        cache_dir(settings),
        writing_key(settings),
        parse_recipients(settings.encryption.recipients),
        target.compression_level or 3,
        target.files_reread_days,
        list(settings.encryption.recipients),
    )
    session = FilesStoreSession(dict(storages), target.name, backup_id, options)
    session.open()
    return session
