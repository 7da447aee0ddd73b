"""Authenticating manifests with an Ed25519 signature that a bucket writer cannot forge.

The threat: someone who can write to the bucket (a leaked upload key, a compromised mirror)
replaces a part and rewrites the manifest's checksums to match. Checksums alone cannot catch
that, and neither can age: the recipients are public, so anyone can encrypt a forged part.

Why a signature and not a MAC: a MAC key must be known to whoever checks, and the backup host
must hold it to write manifests. A MAC key encrypted to the age recipients and stored with the
backup does not help either: the recipients are public, so a forger makes a fresh MAC key,
encrypts it to them and MACs the forged manifest. A signature separates the two sides: the
backup host signs with a private key that never leaves it (``encryption.signing_key_file``, or
the pair the first backup generates, see ``backproof.archive.keyring``); verify and restore check
with public keys (``encryption.verify_key``, or those recorded in the state database), which
forge nothing. Unsigned manifests are refused unless ``encryption.allow_unsigned`` is set.

What is signed: a fixed context line, then the manifest as canonical JSON (sorted keys, no
spaces) without its ``authentication`` field. It covers the id, target, times, every part's
name, size, sha256 and encryption, and the facts, so a changed byte anywhere fails the check;
the id inside, compared with the key's folder, stops a manifest moved onto another backup.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from backproof.archive.manifest import Manifest
from backproof.errors import ConfigError, IntegrityError

SCHEME = "ed25519"
SIGNED_CONTEXT = b"backproof manifest signature v1\n"


def load_signing_key(
    path: Path | None, where: str = "encryption.signing_key_file"
) -> Ed25519PrivateKey | None:
    """Return the Ed25519 private key in ``path`` (None when unset).

    Accepts OpenSSH (``ssh-keygen -t ed25519 -N ""``) and PKCS#8 PEM (``openssl genpkey
    -algorithm ed25519``) keys without a passphrase. Raises ConfigError naming ``where`` when
    it is unusable.
    """
    if path is None:
        return None
    where = f"at {where}: {path}"
    try:
        data = path.read_bytes()
        key: object = (
            serialization.load_ssh_private_key(data, password=None)
            if b"OPENSSH PRIVATE KEY" in data
            else serialization.load_pem_private_key(data, password=None)
        )
    except OSError as exc:
        raise ConfigError([f"{where}: cannot read it: {exc.strerror or exc}"]) from exc
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigError([f"{where}: not a private key without a passphrase"]) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError([f"{where}: not an Ed25519 key"])
    return key


def parse_verify_key(text: str) -> Ed25519PublicKey:
    """Return the public key of ``encryption.verify_key`` (``ssh-ed25519 AAAA…`` or PEM).

    Raises ConfigError when it is not an Ed25519 public key.
    """
    try:
        key: object = (
            serialization.load_pem_public_key(text.encode())
            if text.lstrip().startswith("-----BEGIN")
            else serialization.load_ssh_public_key(text.strip().encode())
        )
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError(["at encryption.verify_key: not a public key"]) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(["at encryption.verify_key: not an Ed25519 key (ssh-ed25519 …)"])
    return key


def public_key_text(key: Ed25519PublicKey) -> str:
    """Return ``key`` as one line, the form ``encryption.verify_key`` takes."""
    encoded = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return encoded.decode()


def fingerprint(key: Ed25519PublicKey) -> str:
    """Return the key's fingerprint as ``ssh-keygen -l`` prints it: ``SHA256:…``."""
    blob = base64.b64decode(public_key_text(key).split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def signed_bytes(manifest: Manifest) -> bytes:
    """Return the bytes a manifest's signature covers (canonical, without the signature)."""
    body = manifest.model_dump(mode="json", exclude={"authentication"})
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return SIGNED_CONTEXT + canonical.encode()


def sign_manifest(manifest: Manifest, key: Ed25519PrivateKey) -> Manifest:
    """Return ``manifest`` with ``authentication`` set: ``ed25519 SHA256:<key> <signature>``."""
    signature = base64.b64encode(key.sign(signed_bytes(manifest))).decode()
    value = f"{SCHEME} {fingerprint(key.public_key())} {signature}"
    return manifest.model_copy(update={"authentication": value})


@dataclass(frozen=True)
class TrustedKeys:
    """The public keys verify and restore accept, where they come from, and the unsigned rule."""

    keys: tuple[Ed25519PublicKey, ...] = ()
    source: str = "no key"
    allow_unsigned: bool = False

    def find(self, key_fingerprint: str) -> Ed25519PublicKey | None:
        """Return the trusted key with this fingerprint, None when none has it."""
        return next((key for key in self.keys if fingerprint(key) == key_fingerprint), None)

    def describe(self) -> str:
        """Return the fingerprints and their source, in words."""
        listed = ", ".join(fingerprint(key) for key in self.keys) or "none"
        return f"{listed} ({self.source})"


def authenticate_manifest(manifest: Manifest, trusted: TrustedKeys, where: str) -> str:
    """Check a manifest's signature against the trusted keys; return what was checked, in words.

    Raises IntegrityError when the manifest is unsigned (unless ``allow_unsigned``), signed by
    a key that is not trusted, or altered since it was signed.
    """
    if manifest.authentication is None:
        if trusted.allow_unsigned:
            return "unsigned: accepted because encryption.allow_unsigned = true"
        raise IntegrityError(
            f"{where}: the manifest is not signed: it was forged, or made before signing was "
            "on by default (set [encryption] allow_unsigned = true to accept unsigned backups)"
        )
    fields = manifest.authentication.split(" ")
    if len(fields) != 3 or fields[0] != SCHEME:
        raise IntegrityError(f"{where}: the manifest's signature is malformed: it was altered")
    key = trusted.find(fields[1])
    if key is None:
        raise IntegrityError(
            f"{where}: the manifest is signed with key {fields[1]}, not with a trusted key "
            f"[{trusted.describe()}]: forged, or signed by another backup host "
            "(`backproof keys show` there prints the key for encryption.verify_key)"
        )
    try:
        key.verify(base64.b64decode(fields[2], validate=True), signed_bytes(manifest))
    except (InvalidSignature, binascii.Error) as exc:
        raise IntegrityError(
            f"{where}: the manifest does not match its signature: it was altered after the "
            "backup signed it"
        ) from exc
    return f"signature by {fields[1]} checked"
