"""Authenticating manifests with an Ed25519 signature that a bucket writer cannot forge.

The threat: someone who can write to the bucket (a leaked upload key, a compromised mirror)
replaces a part and rewrites the manifest's checksums to match. Checksums alone cannot catch
that, and neither can age: the recipients are public, so anyone can encrypt a forged part.

Why a signature and not a MAC: a MAC key must be known to whoever checks, and the backup host
must hold it to write manifests. A MAC key encrypted to the age recipients and stored with the
backup does not help either: the recipients are public, so a forger makes a fresh MAC key,
encrypts it to them and MACs the forged manifest. A signature separates the two sides: the
backup host signs with a private key (``encryption.signing_key_file``) that never leaves it;
verify and restore check with the public key (``encryption.verify_key``), which forges nothing.

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
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from backproof.archive.manifest import Manifest
from backproof.errors import ConfigError, IntegrityError

SCHEME = "ed25519"
SIGNED_CONTEXT = b"backproof manifest signature v1\n"


def load_signing_key(path: Path | None) -> Ed25519PrivateKey | None:
    """Return the Ed25519 private key of ``encryption.signing_key_file`` (None when unset).

    Accepts OpenSSH (``ssh-keygen -t ed25519 -N ""``) and PKCS#8 PEM (``openssl genpkey
    -algorithm ed25519``) keys without a passphrase. Raises ConfigError when it is unusable.
    """
    if path is None:
        return None
    where = f"at encryption.signing_key_file: {path}"
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


def authenticate_manifest(manifest: Manifest, verify_key: str | None, where: str) -> str:
    """Check a manifest's signature against ``verify_key``; return what was checked, in words.

    Without a verify key nothing is checked (the answer says so). Raises IntegrityError when
    the manifest is unsigned, signed by another key, or altered since it was signed.
    """
    if verify_key is None:
        return "signature not checked: encryption.verify_key is not set"
    key = parse_verify_key(verify_key)
    if manifest.authentication is None:
        raise IntegrityError(
            f"{where}: the manifest is not signed, and encryption.verify_key requires it: "
            "it was forged, or written without encryption.signing_key_file"
        )
    fields = manifest.authentication.split(" ")
    if len(fields) != 3 or fields[0] != SCHEME:
        raise IntegrityError(f"{where}: the manifest's signature is malformed: it was altered")
    expected = fingerprint(key)
    try:
        key.verify(base64.b64decode(fields[2], validate=True), signed_bytes(manifest))
    except (InvalidSignature, binascii.Error) as exc:
        if fields[1] != expected:
            raise IntegrityError(
                f"{where}: the manifest is signed with key {fields[1]}, not with "
                f"encryption.verify_key ({expected}): forged, or signed by another backup host"
            ) from exc
        raise IntegrityError(
            f"{where}: the manifest does not match its signature: it was altered after the "
            "backup signed it"
        ) from exc
    return f"signature by {expected} checked"
