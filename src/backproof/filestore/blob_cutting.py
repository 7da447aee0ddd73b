"""A blob cut from a decrypted pack, and the address it is checked against.

Apart from ``packs.py`` and ``addressing.py`` (whose imports bring the config's models and the
storage) so that the processes writing a restore's files (``restore_worker.py``) start with
these alone.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Protocol

import zstandard

from backproof.errors import IntegrityError

# One decompressor a thread: making one costs more than decompressing a small blob.
_LOCAL = threading.local()


class BlobPlace(Protocol):
    """Where one blob sits in its decrypted pack (``packs.BlobEntry``)."""

    @property
    def address(self) -> str: ...
    @property
    def offset(self) -> int: ...
    @property
    def length(self) -> int: ...
    @property
    def raw_length(self) -> int: ...


def blob_address(secret: bytes | None, data: bytes | memoryview, *, is_digest_keyed: bool) -> str:
    """Return the address of a blob's content: its sha256 without a secret, else the HMAC of
    its sha256 (scheme 2, ``is_digest_keyed``) or of the content itself (scheme 1)."""
    if secret is None:
        return hashlib.sha256(data).hexdigest()
    if is_digest_keyed:
        return hmac.digest(secret, hashlib.sha256(data).digest(), "sha256").hex()
    return hmac.new(secret, data, hashlib.sha256).hexdigest()


def blob_from_pack(plain: bytes | memoryview, entry: BlobPlace, where: str) -> bytes:
    """Return a blob's content cut from a decrypted pack; IntegrityError when it does not decode."""
    piece = memoryview(plain)[entry.offset : entry.offset + entry.length]  # not copied
    try:
        data = _decompressor().decompress(piece, max_output_size=entry.raw_length)
    except zstandard.ZstdError as exc:
        raise IntegrityError(f"blob {entry.address[:12]}… in {where} does not decode") from exc
    if len(data) != entry.raw_length:
        raise IntegrityError(f"blob {entry.address[:12]}… in {where} has the wrong length")
    return data


def _decompressor() -> zstandard.ZstdDecompressor:
    decompressor: zstandard.ZstdDecompressor | None = getattr(_LOCAL, "decompressor", None)
    if decompressor is None:
        decompressor = _LOCAL.decompressor = zstandard.ZstdDecompressor()
    return decompressor
