"""Pack objects: many blobs in one object, so 100,000 thumbnails are not 100,000 requests.

A pack is the concatenation of its blobs, each compressed with zstd; with encryption the whole
pack is then age-encrypted to the recipients (one age header per pack, not per blob). Its id is
the sha256 of the stored bytes. Beside each pack its *index* lists the blobs it holds (address,
offset and length in the decrypted pack, raw length), sealed with the address key so that the
backup host, which cannot decrypt packs, learns what a destination holds without reading them.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyrage
import zstandard

from backproof.errors import IntegrityError, NotFoundError, RestoreError
from backproof.filestore.addressing import AddressKey
from backproof.filestore.layout import PackName
from backproof.filestore.pack_buffers import PiecesReader, ViewWriter, mapped_buffer
from backproof.storage.base import Storage

if TYPE_CHECKING:
    from backproof.filestore.sealing import PackSealers

PACK_TARGET_BYTES = 16 * 1024 * 1024
# A pack of tiny blobs is closed by count too, so that the blobs waiting in memory and the size
# of one index stay bounded whatever the number of files (200,000 thumbnails are not one pack).
PACK_MAX_BLOBS = 4096
# Packs being uploaded at once per destination (each holds its pack, twice while it is sealed):
# with two, the packing thread waited 0.02-0.07 s for uploads in a 2 GB backup on local disk
# (4.4 s with one); a third added 15 MiB of memory there.
UPLOADS_IN_FLIGHT = 2
INDEX_VERSION = 1


@dataclass(frozen=True)
class BlobEntry:
    """Where one blob sits in its pack."""

    address: str
    offset: int
    length: int
    raw_length: int


@dataclass
class PackIndex:
    """What a pack holds."""

    key_id: str
    blobs: list[BlobEntry]


def encode_index(key: AddressKey, index: PackIndex) -> bytes:
    """Return the stored bytes of a pack's index: JSON, zstd, sealed with the key."""
    rows = [[blob.address, blob.offset, blob.length, blob.raw_length] for blob in index.blobs]
    body = json.dumps({"version": INDEX_VERSION, "key_id": index.key_id, "blobs": rows})
    return key.seal(zstandard.ZstdCompressor().compress(body.encode()))


def decode_index(key: AddressKey, data: bytes, where: str) -> PackIndex:
    """Return the index stored in ``data``; IntegrityError when it is not one."""
    try:
        body = json.loads(zstandard.ZstdDecompressor().decompress(key.unseal(data, where)))
        blobs = [BlobEntry(*row) for row in body["blobs"]]
        return PackIndex(str(body["key_id"]), blobs)
    except (zstandard.ZstdError, ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"{where} is not a pack index: corrupt or altered") from exc


@dataclass
class Packer:
    """Fills packs for one destination and uploads each when it is full (or at ``flush``).

    With an ``uploader`` a full pack is encrypted and uploaded on its threads while the next ones
    fill, ``UPLOADS_IN_FLIGHT`` at most (a local destination's fsync or a bucket's round trip
    then overlaps the next pack's). Uploads are recorded in the order they were started:
    ``wait`` collects them all, and raises the first StorageError. ``on_pack`` learns of every
    uploaded pack and its blobs (the local index records them), on the thread that fills the
    packs. With ``sealers`` a keyed pack is sealed by a worker process (``sealing.py``), else in
    this one.
    """

    storage: Storage
    backup_id: str
    key: AddressKey
    recipients: list[Any]
    on_pack: Callable[[PackName, list[BlobEntry]], None]
    uploader: Executor | None = None
    sealers: PackSealers | None = None
    pieces: list[bytes] = field(default_factory=list)  # joined once, at the upload
    buffered_bytes: int = 0
    pending: dict[str, BlobEntry] = field(default_factory=dict)
    # The blobs of each pack being uploaded, oldest first; a tuple replaced whole, never changed
    # in place, because worker threads ask ``holds`` while the packs fill.
    uploading: tuple[dict[str, BlobEntry], ...] = ()
    uploads: deque[Future[tuple[PackName, int]]] = field(default_factory=deque)
    written: list[PackName] = field(default_factory=list)
    stored_bytes: int = 0

    def add(self, address: str, compressed: bytes, raw_length: int) -> None:
        """Put a blob in the open pack; upload the pack once it is full."""
        if address in self.pending:
            return
        entry = BlobEntry(address, self.buffered_bytes, len(compressed), raw_length)
        self.pending[address] = entry
        self.pieces.append(compressed)
        self.buffered_bytes += len(compressed)
        if self.buffered_bytes >= PACK_TARGET_BYTES or len(self.pending) >= PACK_MAX_BLOBS:
            self.flush()

    def holds(self, address: str) -> bool:
        """Return True when the blob is in the open pack or in one being uploaded."""
        if address in self.pending:
            return True
        # A plain loop: asked for every blob of every unchanged file, mostly with none uploading.
        for blobs in self.uploading:  # noqa: SIM110 - any() and a generator: 3x the time
            if address in blobs:
                return True
        return False

    def flush(self) -> None:
        """Upload the open pack (if it holds anything), then its index; the pack comes first,
        so an index never names a pack that is not there."""
        if not self.pending:
            return
        while len(self.uploads) >= UPLOADS_IN_FLIGHT:
            self._wait_oldest()
        pieces, self.pieces, self.buffered_bytes = self.pieces, [], 0
        blobs, self.pending = self.pending, {}
        self.uploading = (*self.uploading, blobs)
        if self.uploader is None:
            self._record(*self._upload(pieces, list(blobs.values())))
        else:
            self.uploads.append(self.uploader.submit(self._upload, pieces, list(blobs.values())))

    def wait(self) -> None:
        """Wait for the packs being uploaded and record them; raise their StorageError."""
        while self.uploads:
            self._wait_oldest()

    def _wait_oldest(self) -> None:
        upload = self.uploads.popleft()
        try:
            pack, size_bytes = upload.result()
        except BaseException:
            self.uploading = self.uploading[1:]  # its blobs are not held: stored elsewhere
            raise
        self._record(pack, size_bytes)

    def _record(self, pack: PackName, size_bytes: int) -> None:
        """Record the oldest pack being uploaded, now uploaded."""
        blobs, self.uploading = self.uploading[0], self.uploading[1:]
        self.stored_bytes += size_bytes
        self.written.append(pack)
        self.on_pack(pack, list(blobs.values()))

    def _upload(self, pieces: list[bytes], blobs: list[BlobEntry]) -> tuple[PackName, int]:
        if self.key.is_keyed and self.sealers is not None:
            stored, pack_id = self.sealers.seal(pieces)
        else:
            if self.key.is_keyed:
                stored = _encrypted(pieces, self.recipients)
            else:
                stored = b"".join(pieces)
                pieces.clear()  # the pack is held once, not twice, while it is sent
            pack_id = hashlib.sha256(stored).hexdigest()
        pack = PackName(self.backup_id, pack_id)
        self.storage.put_bytes(pack.pack_key, stored)
        self.storage.put_bytes(
            pack.index_key, encode_index(self.key, PackIndex(self.key.key_id, blobs))
        )
        return pack, len(stored)


def _encrypted(pieces: list[bytes], recipients: list[Any]) -> bytes:
    """Return the pack of ``pieces`` age-encrypted to ``recipients`` (``pieces`` consumed).

    ``pyrage.encrypt`` holds the GIL for the whole pack (about 30 ms for 16 MiB, 4 s of a 2 GB
    first backup during which no other thread could start hashing or compressing);
    ``pyrage.encrypt_io`` reads through ``PiecesReader.read``, Python code, so the GIL can pass
    to the other threads every 8 KiB. Same age format.
    """
    sink = _Collected()
    pyrage.encrypt_io(PiecesReader(pieces), sink, recipients)
    return b"".join(sink.parts)


class _Collected:
    """What pyrage writes, kept in pieces."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        """Keep ``data``."""
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the pieces are joined by the caller."""


def read_pack(
    storage: Storage,
    pack: PackName,
    identities: Callable[[], list[Any]] | None,
    *,
    is_checked: bool = True,
) -> bytes | memoryview:
    """Return a pack's decrypted bytes (``identities`` None: the pack is not encrypted).

    ``is_checked`` False skips the sha256 of the whole pack (a reader that checks every blob it
    cuts against its address learns of a damaged blob all the same).
    Raises IntegrityError when it is missing, or does not match its id or decrypt.
    """
    where = f"pack {pack.text} on {storage.name}"
    try:
        stored = storage.get_bytes(pack.pack_key)
    except NotFoundError as exc:
        raise pack_failure("missing", where) from exc
    if is_checked and hashlib.sha256(stored).hexdigest() != pack.pack_id:
        raise pack_failure("checksum", where)
    if identities is None:
        return stored
    try:
        # Read by Python code, as ``_encrypted`` writes: the GIL passes every 8 KiB to the
        # restore's other threads (``pyrage.decrypt`` held it for the whole pack).
        sink = ViewWriter(mapped_buffer(len(stored)))
        pyrage.decrypt_io(PiecesReader([stored]), sink, identities())
        return sink.result()
    except pyrage.DecryptError as exc:
        raise pack_failure("identity", where) from exc
    except OSError as exc:  # decrypt_io's word for a chunk that does not authenticate
        raise pack_failure("corrupt", where) from exc


def pack_failure(kind: str, where: str) -> RestoreError | IntegrityError:
    """Return the error for a pack that is ``missing``, fails its ``checksum``, is ``corrupt``
    (does not decrypt) or that no ``identity`` decrypts (a setting, not damage)."""
    if kind == "identity":
        return RestoreError(
            f"cannot decrypt {where}: encryption.identity_file holds no identity of its recipients"
        )
    what = {
        "missing": "is missing",
        "checksum": "does not match its checksum: corrupt or altered",
        "corrupt": "does not decrypt: corrupt or altered",
    }
    return IntegrityError(f"{where} {what[kind]}")
