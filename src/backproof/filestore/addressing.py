"""Content addresses of blobs, and the key that makes them reveal nothing when encryption is on.

Without encryption a blob's address is the sha256 of its content: anyone who reads the bucket
can read the files anyway. With encryption (``[encryption] recipients``) an address is
HMAC-SHA256 under a secret *address key*, so someone who lists the bucket cannot test whether a
known file is in it. The same key seeds the chunker's gear table (chunk boundaries do not
fingerprint a file either) and seals the pack indexes (blob sizes stay private).

Two keyed schemes, told apart by the key's id (and so recorded in every file list, index and
stored key): a key made before 2026-12-01 addresses a blob as HMAC-SHA256(key, content)
(scheme 1, ids of 16 hex digits); a key made since as HMAC-SHA256(key, sha256(content))
(scheme 2, ids ``d2-`` and 16 hex digits), so that a file of one blob is hashed once for both
its address and the file list's sha256. A host keeps the scheme of its key file: an older
store keeps deduplicating, and every reader checks each blob under the scheme its list names.

Where the key lives: the backup host keeps it in a private file (``encryption.address_key_file``,
default ``.backproof/filestore/address.key`` beside the state), because it must compute
addresses without the age identity it never holds. Each destination keeps a copy encrypted to
the recipients (``.filestore/keys/<key-id>.age``), so verify and restore, which hold the
identity, can check every blob against its address.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backproof.archive.encryption import ReadingKeys
from backproof.errors import ConfigError, IntegrityError, NotFoundError, RestoreError
from backproof.filestore.blob_cutting import blob_address
from backproof.filestore.layout import key_object
from backproof.privacy import make_private_dir, open_private_file
from backproof.storage.base import Storage

PLAIN_KEY_ID = "sha256"
KEY_BYTES = 32
NONCE_BYTES = 12
# Scheme 2 (HMAC of the content's sha256): its key ids and its key files start so.
DIGEST_KEYED_PREFIX = "d2-"


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(hashes.SHA256(), KEY_BYTES, salt=None, info=b"backproof " + purpose).derive(secret)


@dataclass(frozen=True)
class AddressKey:
    """How blobs are named: plain sha256 (``secret`` None) or HMAC under a secret key."""

    key_id: str = PLAIN_KEY_ID
    secret: bytes | None = field(default=None, repr=False)

    @property
    def is_keyed(self) -> bool:
        """Return True when addresses are keyed (encryption is on)."""
        return self.secret is not None

    @property
    def is_digest_keyed(self) -> bool:
        """Return True for scheme 2: a keyed address is the HMAC of the content's sha256."""
        return self.key_id.startswith(DIGEST_KEYED_PREFIX)

    def address(self, data: bytes | memoryview) -> str:
        """Return the address of a blob's content."""
        return blob_address(self.secret, data, is_digest_keyed=self.is_digest_keyed)

    def is_address_of_sha256(self, address: str, sha256: str) -> bool:
        """Return True when ``address`` is the scheme 2 address of content whose sha256 is
        ``sha256`` (hex): a blob checked against ``address`` then has that sha256 (short of an
        HMAC collision). False under the other schemes or for a malformed ``sha256``."""
        if self.secret is None or not self.is_digest_keyed:
            return False
        try:
            raw = bytes.fromhex(sha256)
        except ValueError:
            return False
        return hmac.compare_digest(hmac.digest(self.secret, raw, "sha256").hex(), address)

    def address_and_sha256(self, data: bytes | memoryview) -> tuple[str, str]:
        """Return the address of a blob's content and its sha256 (hex): one pass over it
        unkeyed and under scheme 2, two under scheme 1."""
        if self.secret is None:
            digest = hashlib.sha256(data).hexdigest()
            return digest, digest
        if self.is_digest_keyed:
            raw = hashlib.sha256(data).digest()
            return hmac.digest(self.secret, raw, "sha256").hex(), raw.hex()
        return self.address(data), hashlib.sha256(data).hexdigest()

    def chunker_seed(self) -> int:
        """Return the seed of the chunker's gear table (0, the published table, when unkeyed)."""
        if self.secret is None:
            return 0
        return int.from_bytes(_derive(self.secret, b"chunker")[:4], "big")

    def seal(self, data: bytes) -> bytes:
        """Encrypt and authenticate an index object when keyed; return it as is otherwise."""
        if self.secret is None:
            return data
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + ChaCha20Poly1305(_derive(self.secret, b"index")).encrypt(nonce, data, None)

    def unseal(self, data: bytes, where: str) -> bytes:
        """Return what ``seal`` sealed; IntegrityError naming ``where`` when it was altered."""
        if self.secret is None:
            return data
        cipher = ChaCha20Poly1305(_derive(self.secret, b"index"))
        try:
            return cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None)
        except InvalidTag as exc:
            raise IntegrityError(f"{where} does not authenticate: corrupt or altered") from exc


def key_id_of(secret: bytes, *, is_digest_keyed: bool = False) -> str:
    """Return the public id of an address key (it reveals nothing of the key); a scheme 2
    key's id starts with ``DIGEST_KEYED_PREFIX``."""
    if is_digest_keyed:
        digest = hashlib.sha256(b"backproof address key id 2\n" + secret).hexdigest()
        return DIGEST_KEYED_PREFIX + digest[:16]
    return hashlib.sha256(b"backproof address key id\n" + secret).hexdigest()[:16]


def load_or_create_key(path: Path) -> AddressKey:
    """Return the address key kept in ``path``, made (0600, scheme 2) at the first use; a
    file of 64 hex digits alone is a scheme 1 key, ``d2-`` and 64 hex digits a scheme 2 one.

    Raises ConfigError when the file exists but does not hold a key.
    """
    if path.exists():
        text = path.read_text(encoding="ascii", errors="replace").strip()
        is_digest_keyed = text.startswith(DIGEST_KEYED_PREFIX)
        try:
            secret = bytes.fromhex(text.removeprefix(DIGEST_KEYED_PREFIX))
        except ValueError:
            secret = b""
        if len(secret) != KEY_BYTES:
            raise ConfigError([f"at encryption.address_key_file: {path} does not hold a key"])
        return AddressKey(key_id_of(secret, is_digest_keyed=is_digest_keyed), secret)
    make_private_dir(path.parent)
    secret = secrets.token_bytes(KEY_BYTES)
    descriptor = open_private_file(path)
    with os.fdopen(descriptor, "w", encoding="ascii") as stream:
        stream.write(DIGEST_KEYED_PREFIX + secret.hex() + "\n")
    return AddressKey(key_id_of(secret, is_digest_keyed=True), secret)


def store_key(storage: Storage, key: AddressKey, recipients: list[Any]) -> None:
    """Put the key, encrypted to ``recipients``, on ``storage`` unless it is there already."""
    if key.secret is None:
        return
    name = key_object(key.key_id)
    try:
        storage.get_bytes(name)
    except NotFoundError:
        storage.put_bytes(name, pyrage.encrypt(key.secret.hex().encode(), recipients))


def read_stored_key(storage: Storage, key_id: str, keys: ReadingKeys) -> AddressKey:
    """Return the address key ``key_id`` of a destination, decrypted with the identity.

    Raises RestoreError without a usable identity, IntegrityError when it is missing or altered.
    """
    if key_id == PLAIN_KEY_ID:
        return AddressKey()
    name = key_object(key_id)
    try:
        sealed = storage.get_bytes(name)
    except NotFoundError as exc:
        raise IntegrityError(f"{storage.name}:{name} is missing: the address key is lost") from exc
    try:
        secret = bytes.fromhex(pyrage.decrypt(sealed, keys.identities()).decode("ascii"))
    except (pyrage.DecryptError, ValueError) as exc:
        raise RestoreError(
            f"cannot decrypt {storage.name}:{name}: encryption.identity_file holds no identity "
            "of its recipients, or the object was altered"
        ) from exc
    if key_id_of(secret, is_digest_keyed=key_id.startswith(DIGEST_KEYED_PREFIX)) != key_id:
        raise IntegrityError(f"{storage.name}:{name} holds another key: it was altered")
    return AddressKey(key_id, secret)
