"""Packs sealed as age files by OpenSSL's cipher: read by pyrage as any age file."""

from __future__ import annotations

import os

import pyrage
import pytest
import zstandard
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from pyrage import x25519

from backproof.filestore import sealing
from backproof.filestore.addressing import AddressKey, key_id_of
from backproof.filestore.layout import PackName
from backproof.filestore.packs import Packer, read_pack
from backproof.storage.memory import MemoryStorage

CHUNK = sealing.CHUNK_BYTES
SECRET = os.urandom(32)
KEYED = AddressKey(key_id_of(SECRET), SECRET)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17])
def test_a_sealed_payload_decrypts_with_pyrage_for_each_recipient(size: int) -> None:
    identities = [x25519.Identity.generate() for _ in range(2)]
    keys = sealing.x25519_keys([identity.to_public() for identity in identities])
    assert keys is not None
    plain = os.urandom(size)

    sealed = sealing.seal([plain], keys)

    assert len(sealed) == sealing.sealed_size(size, 2)
    for identity in identities:
        assert pyrage.decrypt(sealed, [identity]) == plain


def test_pieces_across_chunk_boundaries_are_sealed_as_their_concatenation() -> None:
    identity = x25519.Identity.generate()
    keys = sealing.x25519_keys([identity.to_public()])
    assert keys is not None
    sizes = [1, 0, CHUNK - 2, 3, 5 * CHUNK + 7, 0, CHUNK, 11]
    pieces = [os.urandom(size) for size in sizes]
    plain = b"".join(pieces)

    sealed = sealing.seal(list(pieces), keys)

    assert pyrage.decrypt(sealed, [identity]) == plain


def test_a_sealed_payload_does_not_decrypt_with_another_identity() -> None:
    keys = sealing.x25519_keys([x25519.Identity.generate().to_public()])
    assert keys is not None
    sealed = sealing.seal([b"upload"], keys)

    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(sealed, [x25519.Identity.generate()])


def test_each_seal_has_its_own_file_key_and_nonce() -> None:
    keys = sealing.x25519_keys([x25519.Identity.generate().to_public()])
    assert keys is not None

    first, second = sealing.seal([b"same"], keys), sealing.seal([b"same"], keys)

    assert first != second
    assert first[-len(b"same") - 16 :] != second[-len(b"same") - 16 :]


@pytest.mark.parametrize("where", ["stanza", "mac", "payload"])
def test_a_sealed_file_altered_anywhere_is_refused_by_pyrage(where: str) -> None:
    identity = x25519.Identity.generate()
    keys = sealing.x25519_keys([identity.to_public()])
    assert keys is not None
    sealed = bytearray(sealing.seal([os.urandom(1000)], keys))
    header_end = sealed.index(b"\n---") + 1
    offsets = {"stanza": len(sealing.VERSION_LINE) + 12, "mac": header_end + 6, "payload": -1}
    sealed[offsets[where]] ^= 1

    with pytest.raises((pyrage.DecryptError, OSError)):
        pyrage.decrypt(bytes(sealed), [identity])


def test_a_recipient_with_a_bad_checksum_is_not_taken_for_a_key() -> None:
    text = str(x25519.Identity.generate().to_public())
    altered = text[:-1] + ("q" if text[-1] != "q" else "p")

    with pytest.raises(sealing.NotX25519Error, match="checksum"):
        sealing.decode_recipient(altered)


def _ssh_identity() -> tuple[pyrage.ssh.Recipient, pyrage.ssh.Identity]:
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
    return pyrage.ssh.Recipient.from_str(public), pyrage.ssh.Identity.from_buffer(pem)


def test_a_pack_for_an_ssh_recipient_is_sealed_by_pyrage_and_reads_back() -> None:
    recipient, identity = _ssh_identity()
    assert sealing.x25519_keys([x25519.Identity.generate().to_public(), recipient]) is None
    storage = MemoryStorage()
    written: list[PackName] = []
    packer = Packer(
        storage, "20261201T160000Z-000abc", KEYED, [recipient], lambda p, b: written.append(p)
    )
    blob = zstandard.ZstdCompressor().compress(b"upload" * 100)
    packer.add(KEYED.address(b"upload" * 100), blob, 600)
    packer.flush()

    [pack] = written

    assert read_pack(storage, pack, lambda: [identity]) == blob


def test_a_pack_for_age_recipients_is_the_size_sealing_makes_and_reads_back() -> None:
    identities = [x25519.Identity.generate() for _ in range(2)]
    storage = MemoryStorage()
    written: list[PackName] = []
    packer = Packer(
        storage,
        "20261201T160000Z-000abc",
        KEYED,
        [identity.to_public() for identity in identities],
        lambda pack, blobs: written.append(pack),
    )
    blobs = [os.urandom(size) for size in (10, CHUNK, 3 * CHUNK + 5)]
    for number, blob in enumerate(blobs):
        packer.add(KEYED.address(bytes([number])), blob, len(blob))
    packer.flush()

    [pack] = written

    stored = storage.objects[pack.pack_key]
    assert len(stored) == sealing.sealed_size(sum(map(len, blobs)), 2)
    for identity in identities:
        assert bytes(read_pack(storage, pack, lambda identity=identity: [identity])) == b"".join(
            blobs
        )
