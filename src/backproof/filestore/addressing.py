"""Content addresses of blobs, and the key that makes them reveal nothing when encryption is on.

Without encryption a blob's address is the sha256 of its content: anyone who reads the bucket
can read the files anyway. With encryption (``[encryption] recipients``) an address is
HMAC-SHA256 under a secret *address key*, so someone who lists the bucket cannot test whether a
known file is in it. The same key seeds the chunker's gear table (chunk boundaries do not
fingerprint a file either) and seals the pack indexes (blob sizes stay private).

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
from backproof.filestore.layout import key_object
from backproof.privacy import make_private_dir, open_private_file
from backproof.storage.base import Storage

PLAIN_KEY_ID = "sha256"
KEY_BYTES = 32
NONCE_BYTES = 12


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

    def address(self, data: bytes | memoryview) -> str:
        """Return the address of a blob's content."""
        if self.secret is None:
            return hashlib.sha256(data).hexdigest()
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()

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


def key_id_of(secret: bytes) -> str:
    """Return the public id of an address key (it reveals nothing of the key)."""
    return hashlib.sha256(b"backproof address key id\n" + secret).hexdigest()[:16]


def load_or_create_key(path: Path) -> AddressKey:
    """Return the address key kept in ``path``, made (0600) at the first use.

    Raises ConfigError when the file exists but does not hold a key.
    """
    if path.exists():
        text = path.read_text(encoding="ascii", errors="replace").strip()
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            secret = b""
        if len(secret) != KEY_BYTES:
            raise ConfigError([f"at encryption.address_key_file: {path} does not hold a key"])
        return AddressKey(key_id_of(secret), secret)
    make_private_dir(path.parent)
    secret = secrets.token_bytes(KEY_BYTES)
    descriptor = open_private_file(path)
    with os.fdopen(descriptor, "w", encoding="ascii") as stream:
        stream.write(secret.hex() + "\n")
    return AddressKey(key_id_of(secret), secret)


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
    if key_id_of(secret) != key_id:
        raise IntegrityError(f"{storage.name}:{name} holds another key: it was altered")
    return AddressKey(key_id, secret)
