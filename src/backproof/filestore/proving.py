"""Verify, restore and check a backup whose files part is a file list of the store.

Each reads the list (decrypted and checked like any part), the destination's pack indexes and
the blobs, and reports every file that cannot be read with the pack it depends on.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from backproof.archive.encryption import ReadingKeys
from backproof.archive.manifest import FilesFacts, Manifest
from backproof.archive.reading import open_decoded_part
from backproof.archive.safe_extract import ConfinedTree
from backproof.errors import IntegrityError, RestoreError
from backproof.filestore.addressing import read_stored_key
from backproof.filestore.blob_index import BlobIndex
from backproof.filestore.decrypting import PackDecryptors
from backproof.filestore.entries import FileEntry, read_list
from backproof.filestore.file_writers import FileWriters
from backproof.filestore.layout import PACKS, pack_under
from backproof.filestore.reader import BlobMissingError, BlobReader, Damage, file_digest
from backproof.filestore.restoring import write_tree
from backproof.sources.files import TreeDigest
from backproof.storage.base import Storage
from backproof.storage.local import LocalStorage


def rolling_window(percent: float, day: int) -> Callable[[FileEntry], bool]:
    """Return whether a file falls in day ``day``'s window of ``percent`` of the files.

    Each path has a fixed place in [0, 100); the window starts at ``day * percent`` (mod 100), so
    consecutive days cover every file within ``ceil(100 / percent)`` days.
    """
    if percent >= 100:
        return lambda entry: True
    start = (day * percent) % 100

    def is_chosen(entry: FileEntry) -> bool:
        digest = hashlib.sha256(entry.path.encode("utf-8", "surrogateescape")).digest()
        place = int.from_bytes(digest[:4], "big") / 2**32 * 100
        return (place - start) % 100 < percent

    return is_chosen


@dataclass
class StoredList:
    """A backup's file list being read, with the reader of its blobs."""

    entries: Iterator[FileEntry]
    reader: BlobReader


@contextlib.contextmanager
def open_stored_list(
    storage: Storage, manifest: Manifest, keys: ReadingKeys, cache_dir: Path | None
) -> Iterator[StoredList]:
    """Yield the entries of a backup's file list and a reader of its blobs."""
    part = manifest.part("files")
    assert part is not None  # noqa: S101 - callers dispatch on the part's format
    with open_decoded_part(storage, manifest, part, keys) as stream:
        header, entries = read_list(stream)
        key = read_stored_key(storage, header.key_id, keys)
        # A file of its own: it also knows condemned packs, which a backup must never take.
        name = f"read-index-{storage.name}-{key.key_id}.sqlite"
        index = BlobIndex(cache_dir / name if cache_dir else None, key)
        try:
            index.sync(storage, with_condemned=True)
            reader = BlobReader(storage, key, index, keys)
            reader.prefer_refs(manifest.target, manifest.id)
            yield StoredList(entries, reader)
        finally:
            index.close()


def verify_store(
    storage: Storage,
    manifest: Manifest,
    keys: ReadingKeys,
    cache_dir: Path | None,
    is_chosen: Callable[[FileEntry], bool] = lambda entry: True,
) -> tuple[FilesFacts, int]:
    """Check the content of every chosen file against its addresses and sha256.

    Returns the facts of the list and how many files were read. Raises IntegrityError naming
    the files that cannot be read, or whose content differs.
    """
    tree, damage, read = TreeDigest(), Damage(), 0
    with open_stored_list(storage, manifest, keys, cache_dir) as stored:
        for entry in stored.entries:
            tree.add_entry(entry.kind, entry.path, entry.size, entry.content)
            if entry.kind != "f" or not is_chosen(entry):
                continue
            read += 1
            try:
                if file_digest(stored.reader, entry) != entry.sha256:
                    damage.add("content differs from its sha256", entry.path)
            except BlobMissingError as exc:
                damage.add(str(exc), entry.path)
    if damage.damaged_files:
        raise IntegrityError(f"backup {manifest.id} on {storage.name}: {damage.summary()}")
    return tree.result(), read


def check_store(
    storage: Storage, manifest: Manifest, keys: ReadingKeys, cache_dir: Path | None
) -> int:
    """Check that every blob of every file is in a pack the destination holds, without reading
    packs; return the number of files. Raises IntegrityError naming the dependent files."""
    packs = {
        pack.text for item in storage.list_objects(PACKS) if (pack := pack_under(item.key, PACKS))
    }
    damage, files = Damage(), 0
    with open_stored_list(storage, manifest, keys, cache_dir) as stored:
        for entry in stored.entries:
            files += entry.kind == "f"
            for address in entry.chunks:
                try:
                    found = [p for p, _ in stored.reader.locations(address) if p.text in packs]
                except BlobMissingError as exc:
                    damage.add(str(exc), entry.path)
                    break
                if not found:
                    names = ", ".join(p.text for p, _ in stored.reader.locations(address))
                    damage.add(f"pack {names} is missing", entry.path)
                    break
    if damage.damaged_files:
        raise IntegrityError(f"backup {manifest.id} on {storage.name}: {damage.summary()}")
    return files


@contextlib.contextmanager
def writing_in_workers(
    reader: BlobReader, keys: ReadingKeys, tree: ConfinedTree
) -> Iterator[FileWriters | None]:
    """Yield worker processes that write the files below ``tree``'s root (read, decrypt, check
    and write, off this process's GIL) when the packs are encrypted, the identities come from a
    file and the destination is local (the workers read its packs' files themselves); None
    otherwise. Stops them however the body ends.

    Raises RestoreError when the identity file cannot be used or a worker cannot start.
    """
    data = keys.identity_data() if reader.identities is not None else None
    if data is None or not isinstance(reader.storage, LocalStorage):
        yield None
        return
    with FileWriters(reader, reader.storage, data, tree.root_fd) as writers:
        yield writers


@contextlib.contextmanager
def decrypting_in_workers(
    reader: BlobReader, keys: ReadingKeys, *, is_needed: bool = True
) -> Iterator[None]:
    """Have ``reader`` decrypt its packs in worker processes (started on the first pack) when
    they are encrypted and the identities come from a file; stop them however the body ends.

    Raises RestoreError when the identity file cannot be used (as the first pack would).
    """
    data = keys.identity_data() if is_needed and reader.identities is not None else None
    if data is None:
        yield
        return
    with PackDecryptors(data) as decryptors:
        reader.decryptors = decryptors
        try:
            yield
        finally:
            reader.decryptors = None


def restore_store(
    storage: Storage, manifest: Manifest, keys: ReadingKeys, cache_dir: Path | None, folder: Path
) -> FilesFacts:
    """Write the backup's tree below ``folder`` through ``ConfinedTree``; return the facts of
    what was written (each file's sha256 taken from the bytes as they were written).

    Raises RestoreError naming the files that could not be restored.
    """
    digest, damage = TreeDigest(), Damage()
    with open_stored_list(storage, manifest, keys, cache_dir) as stored:
        # Each blob is checked against its address and each file hashed as it is written:
        # hashing every pack whole as well would be a third pass over the bytes.
        stored.reader.checks_packs = False
        try:
            with (
                ConfinedTree(folder) as tree,
                writing_in_workers(stored.reader, keys, tree) as writers,
                decrypting_in_workers(stored.reader, keys, is_needed=writers is None),
            ):
                write_tree(tree, stored.reader, stored.entries, digest, damage, writers)
                tree.finish()
        except OSError as exc:
            raise RestoreError(f"cannot restore the files into {folder}: {exc}") from exc
    if damage.damaged_files:
        raise RestoreError(f"backup {manifest.id}: {damage.summary()}")
    return digest.result()
