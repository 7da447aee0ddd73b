"""Reading a backup of the files store back: every blob checked against its address.

Blobs are found through the destination's pack indexes (preferring the packs the backup's refs
name) and cut from packs held decrypted in a small cache (restores and verifies mostly walk
packs in the order they were written); a restore's threads share it, each pack read once. A
missing or corrupt pack does not stop the reading: every file that depends on it is named at
the end.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from backproof.archive.encryption import ReadingKeys
from backproof.errors import IntegrityError, NotFoundError
from backproof.filestore.addressing import AddressKey
from backproof.filestore.blob_cutting import blob_from_pack
from backproof.filestore.blob_index import BlobIndex
from backproof.filestore.decrypting import PackDecryptors, read_pack_in_worker
from backproof.filestore.entries import FileEntry
from backproof.filestore.layout import PackName, refs_key
from backproof.filestore.packs import BlobEntry, read_pack
from backproof.storage.base import Storage

PACKS_HELD = 4
FILES_NAMED = 10
# Where blobs are (pack, place there), looked up for several files at once.
Located = dict[str, list[tuple[PackName, BlobEntry]]]


class BlobMissingError(IntegrityError):
    """A blob cannot be read: its pack is missing or corrupt, or it is not in any pack."""

    def __init__(self, message: str, pack: str) -> None:
        super().__init__(message)
        self.pack = pack


@dataclass
class Damage:
    """What could not be read, and the files that depend on it."""

    files_by_cause: dict[str, list[str]] = field(default_factory=dict)
    damaged_files: int = 0

    def add(self, cause: str, path: str) -> None:
        """Record that ``path`` cannot be read because of ``cause``."""
        names = self.files_by_cause.setdefault(cause, [])
        self.damaged_files += 1
        if len(names) < FILES_NAMED:
            names.append(path)

    def summary(self) -> str:
        """Return one line naming each cause and the files depending on it."""
        parts = [
            f"{cause} (needed by {', '.join(names)}{' …' if len(names) >= FILES_NAMED else ''})"
            for cause, names in self.files_by_cause.items()
        ]
        return f"{self.damaged_files} files cannot be read: " + "; ".join(parts)


class _HeldPack:
    """A pack's decrypted bytes (or what kept them from being read), once its loader is done."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.value: bytes | memoryview | Exception | None = None

    def load(self, read: Callable[[], bytes | memoryview]) -> None:
        """Read the pack, keeping the error instead when it fails."""
        try:
            self.value = read()
        except Exception as exc:  # handed to every thread waiting for it
            self.value = exc
        finally:
            self.ready.set()

    def wait(self) -> bytes | memoryview | Exception:
        """Return the pack's bytes or the error, once loaded."""
        self.ready.wait()
        assert self.value is not None  # noqa: S101 - load() set it before ready
        return self.value


class BlobReader:
    """Reads blobs of one destination, checking each against its address."""

    def __init__(
        self, storage: Storage, key: AddressKey, index: BlobIndex, keys: ReadingKeys
    ) -> None:
        self.storage = storage
        self.key = key
        self.index = index
        self.identities: Callable[[], list[Any]] | None = keys.identities if key.is_keyed else None
        self.preferred: set[str] = set()
        # False: packs are not hashed whole (every blob cut from them is checked anyway).
        self.checks_packs = True
        # Set by a restore: encrypted packs are decrypted by worker processes (decrypting.py).
        self.decryptors: PackDecryptors | None = None
        # Packs are read by the threads of a restore at once: each is loaded by one of them.
        self.lock = threading.Lock()
        self.held: OrderedDict[str, _HeldPack] = OrderedDict()

    def prefer_refs(self, target: str, backup_id: str) -> None:
        """Prefer the packs a backup's refs name (when another copy of a blob exists)."""
        try:
            self.preferred = set(json.loads(self.storage.get_bytes(refs_key(target, backup_id))))
        except (NotFoundError, ValueError):
            self.preferred = set()

    def locate_files(self, entries: Iterable[FileEntry]) -> Located:
        """Return where the blobs of ``entries`` are, asked of the index at once."""
        return self.index.locate_many({address for entry in entries for address in entry.chunks})

    def locations(
        self, address: str, located: Located | None = None
    ) -> list[tuple[PackName, BlobEntry]]:
        """Return where a blob is, preferred packs first; BlobMissingError when nowhere.

        ``located`` (from ``locate_files``) spares asking the index again.
        """
        copies = located.get(address) if located is not None else None
        found = copies if copies is not None else list(self.index.locate(address))
        if len(found) > 1:
            found = sorted(found, key=lambda item: item[0].text not in self.preferred)
        if not found:
            raise BlobMissingError(f"blob {address[:12]}… is in no pack", "no pack")
        return found

    def read(self, address: str, located: Located | None = None) -> bytes:
        """Return a blob's content; BlobMissingError naming its pack when it cannot be read."""
        error: BlobMissingError | None = None
        for pack, entry in self.locations(address, located):
            where = f"pack {pack.text}"
            try:
                data = blob_from_pack(self._pack(pack), entry, where)
            except IntegrityError as exc:
                error = BlobMissingError(str(exc), pack.text)
                continue
            if self.key.address(data) != address:
                error = BlobMissingError(
                    f"{where} holds a blob that does not match its address", pack.text
                )
                continue
            return data
        assert error is not None  # noqa: S101 - locations() found at least one
        raise error

    def _pack(self, pack: PackName) -> bytes | memoryview:
        with self.lock:
            held = self.held.get(pack.text)
            is_loader = held is None
            if held is None:
                held = self.held[pack.text] = _HeldPack()
                self._evict()
            self.held.move_to_end(pack.text)
        if is_loader:
            held.load(lambda: self._read_pack(pack))
            with self.lock:
                if self.held.get(pack.text) is held:
                    self.held.move_to_end(pack.text)  # loaded now: its blobs are read next
                    self._evict()
        value = held.wait()
        if isinstance(value, IntegrityError):
            raise value  # kept: the pack is damaged for every file that needs it
        if isinstance(value, Exception):
            with self.lock:
                if self.held.get(pack.text) is held:
                    del self.held[pack.text]  # a storage error: the next reader tries again
            raise value
        return value

    def _read_pack(self, pack: PackName) -> bytes | memoryview:
        if self.decryptors is not None and self.identities is not None:
            return read_pack_in_worker(
                self.storage, pack, self.decryptors, is_checked=self.checks_packs
            )
        return read_pack(self.storage, pack, self.identities, is_checked=self.checks_packs)

    def _evict(self) -> None:
        """Let go of the packs used least recently beyond ``PACKS_HELD``, never one still being
        loaded: its loader reads its blobs next (evicted while the restore's other threads used
        theirs, a pack was decrypted again right after: 11 of 104 loads in a 2 GB restore)."""
        while len(self.held) > PACKS_HELD:
            oldest = next((name for name, held in self.held.items() if held.ready.is_set()), None)
            if oldest is None:
                return  # all loading: at most one a thread
            del self.held[oldest]

    def known_sha256(self, entry: FileEntry) -> str | None:
        """Return the sha256 that reading a file's blobs computes anyway: that of a file of one
        blob under plain addresses (its address, against which the blob is checked), or under
        scheme 2 keys its list's sha256 when that is what the address was made of (the blob's
        check hashes it); None for a file of several blobs, under scheme 1 keys, or whose
        sha256 does not make its address: its sha256 is then hashed as it is read."""
        if len(entry.chunks) != 1:
            return None
        if not self.key.is_keyed:
            return entry.chunks[0]
        if entry.sha256 and self.key.is_address_of_sha256(entry.chunks[0], entry.sha256):
            return entry.sha256
        return None

    def file_pieces(self, entry: FileEntry, located: Located | None = None) -> Iterator[bytes]:
        """Yield a file's content blob by blob."""
        for address in entry.chunks:
            yield self.read(address, located)


def file_digest(reader: BlobReader, entry: FileEntry) -> str:
    """Return the sha256 of a file read from the store, every blob checked on the way."""
    known = reader.known_sha256(entry)
    digest = hashlib.sha256()
    for piece in reader.file_pieces(entry):
        if known is None:
            digest.update(piece)
    return known if known is not None else digest.hexdigest()
