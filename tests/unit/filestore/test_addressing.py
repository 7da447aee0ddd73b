"""Addresses under the two keyed schemes: an older key file keeps its scheme, a new one is made
under scheme 2 (the HMAC of the content's sha256)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

import pytest
from pyrage import x25519

from backproof.archive.encryption import ReadingKeys
from backproof.filestore.addressing import (
    DIGEST_KEYED_PREFIX,
    AddressKey,
    key_id_of,
    load_or_create_key,
    read_stored_key,
    store_key,
)
from backproof.storage.memory import MemoryStorage

CONTENT = b"an upload" * 1000


def test_a_key_file_of_hex_digits_alone_keeps_addressing_by_the_hmac_of_the_content(
    tmp_path: Path,
) -> None:
    secret = secrets.token_bytes(32)
    (tmp_path / "address.key").write_text(secret.hex() + "\n", encoding="ascii")

    key = load_or_create_key(tmp_path / "address.key")

    assert key.key_id == hashlib.sha256(b"backproof address key id\n" + secret).hexdigest()[:16]
    assert not key.is_digest_keyed
    assert key.address(CONTENT) == hmac.new(secret, CONTENT, hashlib.sha256).hexdigest()
    assert key.address_and_sha256(CONTENT) == (
        key.address(CONTENT),
        hashlib.sha256(CONTENT).hexdigest(),
    )


def test_a_new_key_addresses_by_the_hmac_of_the_sha256_and_is_read_back_so(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys" / "address.key"

    key = load_or_create_key(path)

    text = path.read_text(encoding="ascii").strip()
    assert text.startswith(DIGEST_KEYED_PREFIX)
    assert key.secret is not None
    assert key.key_id.startswith(DIGEST_KEYED_PREFIX)
    assert key.is_digest_keyed
    sha256 = hashlib.sha256(CONTENT)
    expected = hmac.new(key.secret, sha256.digest(), hashlib.sha256).hexdigest()
    assert key.address(CONTENT) == expected
    assert key.address_and_sha256(CONTENT) == (expected, sha256.hexdigest())
    assert load_or_create_key(path) == key


def test_the_two_schemes_give_the_same_secret_other_ids_and_addresses() -> None:
    secret = secrets.token_bytes(32)
    older = AddressKey(key_id_of(secret), secret)
    newer = AddressKey(key_id_of(secret, is_digest_keyed=True), secret)

    assert older.key_id != newer.key_id
    assert older.address(CONTENT) != newer.address(CONTENT)


@pytest.mark.parametrize("is_digest_keyed", [False, True], ids=["scheme-1", "scheme-2"])
def test_a_stored_key_is_read_back_under_its_scheme(is_digest_keyed: bool) -> None:
    identity = x25519.Identity.generate()
    secret = secrets.token_bytes(32)
    key = AddressKey(key_id_of(secret, is_digest_keyed=is_digest_keyed), secret)
    storage = MemoryStorage()
    store_key(storage, key, [identity.to_public()])

    read = read_stored_key(storage, key.key_id, ReadingKeys(loaded=[identity]))

    assert read == key
    assert read.address(CONTENT) == key.address(CONTENT)
