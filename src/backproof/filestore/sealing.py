"""age encryption of a pack held in memory, with OpenSSL's ChaCha20-Poly1305.

A pack is sealed whole as an age v1 file (https://age-encryption.org/v1), the same format as
before: any age implementation, and pyrage, which every restore and verify decrypts packs with,
reads it. pyrage's cipher runs at about 700 MB/s here, with a Python call per 8 KiB to let the
GIL go; OpenSSL's (through ``cryptography``) at about 3.8 GB/s, and the age of a 2 GB first
backup was a fifth of its CPU. So for ``age1…`` (X25519) recipients the header and the payload
are made here, step by step as the specification says; a pack for any other recipient (an
``ssh-…`` key) is sealed by pyrage as before.

What is made here, as ``age`` makes it: a random 16-byte file key; per recipient an ephemeral
X25519 key and the file key wrapped with ChaCha20-Poly1305 under
HKDF-SHA256(shared secret, salt = ephemeral share || recipient, "age-encryption.org/v1/X25519");
the header's HMAC-SHA256 under HKDF(file key, "header"); a random 16-byte nonce; the payload in
64 KiB chunks, each sealed with ChaCha20-Poly1305 under HKDF(file key, salt = nonce, "payload")
and the nonce counter || last-chunk flag.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

VERSION_LINE = b"age-encryption.org/v1\n"
X25519_LABEL = b"age-encryption.org/v1/X25519"
CHUNK_BYTES = 64 * 1024
TAG_BYTES = 16
FILE_KEY_BYTES = 16
NONCE_BYTES = 16
_ZERO_NONCE = bytes(12)
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class NotX25519Error(ValueError):
    """A recipient that is not an ``age1…`` key (sealed by pyrage instead)."""


def x25519_keys(recipients: Sequence[Any]) -> list[bytes] | None:
    """Return the raw X25519 public keys of ``recipients`` (pyrage objects or texts), or None
    when there are none or one of them is not an ``age1…`` key."""
    if not recipients:
        return None
    keys = []
    for recipient in recipients:
        try:
            keys.append(decode_recipient(str(recipient)))
        except NotX25519Error:
            return None
    return keys


def decode_recipient(text: str) -> bytes:
    """Return the 32-byte public key of an ``age1…`` recipient (Bech32, as age writes it).

    Raises NotX25519Error when ``text`` is not one.
    """
    text = text.strip().lower()
    human, separator, data = text.rpartition("1")
    if human != "age" or not separator or len(data) < 6 or any(c not in _BECH32 for c in data):
        raise NotX25519Error("not an age1 recipient")
    values = [_BECH32.index(c) for c in data]
    expanded = [ord(c) >> 5 for c in human] + [0] + [ord(c) & 31 for c in human]
    if _bech32_checksum(expanded + values) != 1:
        raise NotX25519Error("not an age1 recipient: bad checksum")
    accumulator, bits, key = 0, 0, bytearray()
    for value in values[:-6]:
        accumulator, bits = (accumulator << 5) | value, bits + 5
        if bits >= 8:
            bits -= 8
            key.append((accumulator >> bits) & 0xFF)
    if len(key) != 32 or bits >= 5 or accumulator & ((1 << bits) - 1):
        raise NotX25519Error("not an age1 recipient: not 32 bytes")
    return bytes(key)


def _bech32_checksum(values: list[int]) -> int:
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_BECH32_GENERATOR):
            if (top >> bit) & 1:
                check ^= generator
    return check


def seal(pieces: list[bytes], keys: Sequence[bytes]) -> bytes:
    """Return the concatenation of ``pieces`` encrypted as an age v1 file to the X25519
    public ``keys``; ``pieces`` are consumed, each let go once sealed (a pack is held about
    once, not twice, while it is sealed), and copied only where a 64 KiB chunk spans two."""
    size = sum(map(len, pieces))
    file_key = secrets.token_bytes(FILE_KEY_BYTES)
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = [_header(file_key, keys), nonce]
    cipher = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    last = max(0, (size - 1) // CHUNK_BYTES)  # an empty payload is one empty last chunk
    pieces.reverse()
    view = memoryview(b"")
    for counter in range(last + 1):
        wanted = min(CHUNK_BYTES, size - counter * CHUNK_BYTES)
        parts = []
        while wanted:
            while not view:
                view = memoryview(pieces.pop())
            parts.append(view[:wanted])
            wanted -= len(parts[-1])
            view = view[len(parts[-1]) :]
        chunk = parts[0] if len(parts) == 1 else b"".join(parts)
        flag = b"\x01" if counter == last else b"\x00"
        sealed.append(cipher.encrypt(counter.to_bytes(11, "big") + flag, chunk, None))
    return b"".join(sealed)


def sealed_size(plain_bytes: int, keys_count: int) -> int:
    """Return how many bytes ``seal`` makes of ``plain_bytes`` (for tests and the docs)."""
    stanza = len(b"-> X25519 \n\n") + 43 + 43
    header = len(VERSION_LINE) + stanza * keys_count + len(b"--- \n") + 43
    chunks = max(1, -(-plain_bytes // CHUNK_BYTES))
    return header + NONCE_BYTES + plain_bytes + chunks * TAG_BYTES


def _header(file_key: bytes, keys: Sequence[bytes]) -> bytes:
    lines = [VERSION_LINE]
    for recipient in keys:
        ephemeral = X25519PrivateKey.generate()
        share = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
        wrapping = ChaCha20Poly1305(_hkdf(shared, share + recipient, X25519_LABEL))
        body = wrapping.encrypt(_ZERO_NONCE, file_key, None)
        lines.append(b"-> X25519 " + _b64(share) + b"\n" + _b64(body) + b"\n")
    lines.append(b"---")
    text = b"".join(lines)
    mac = hmac.new(_hkdf(file_key, b"", b"header"), text, "sha256").digest()
    return text + b" " + _b64(mac) + b"\n"


def _hkdf(secret: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=salt or None, info=info).derive(secret)


def _b64(data: bytes) -> bytes:
    """Base64 without padding, as age writes it (a 32-byte body is one line of 43)."""
    return base64.b64encode(data).rstrip(b"=")
