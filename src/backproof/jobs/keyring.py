"""Which key signs the manifests of this host, and which public keys verify and restore trust.

Signing is on by default: without ``encryption.signing_key_file`` the first backup generates an
Ed25519 key pair in the private state folder and records its public half in the state database.
Keys named in the configuration win over the generated pair: ``signing_key_file`` signs;
``verify_key`` is then the only key trusted (else the public half of ``signing_key_file``, else
the keys recorded in the state database).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from backproof.archive.authentication import (
    TrustedKeys,
    fingerprint,
    load_signing_key,
    parse_verify_key,
    public_key_text,
)
from backproof.archive.encryption import ReadingKeys
from backproof.config.models import Settings
from backproof.errors import NotFoundError
from backproof.jobs.context import Context
from backproof.privacy import PRIVATE_FILE_MODE, make_private_dir, open_private_file
from backproof.state.signing_keys import record_signing_key, recorded_signing_keys

KEY_FILE_NAME = "manifest-signing.key"
GENERATED_SOURCE = "generated, recorded in the state database"


@dataclass(frozen=True)
class SigningKey:
    """The key a backup signs with; ``created`` is the file when this backup generated it."""

    key: Ed25519PrivateKey
    source: str
    created: Path | None = None

    @property
    def fingerprint(self) -> str:
        """Return the fingerprint of the public half (``SHA256:…``)."""
        return fingerprint(self.key.public_key())


def generated_key_path(settings: Settings) -> Path:
    """Return where the generated key pair lives: ``<state folder>/keys/manifest-signing.key``."""
    return settings.state.lock_dir.parent / "keys" / KEY_FILE_NAME


def signing_key(settings: Settings, engine: Engine, now: datetime) -> SigningKey:
    """Return the key this host signs manifests with, generating the pair on first use.

    Raises ConfigError when a configured or generated key file is unusable.
    """
    configured = load_signing_key(settings.encryption.signing_key_file)
    if configured is not None:
        return SigningKey(configured, "encryption.signing_key_file")
    path = generated_key_path(settings)
    created = None
    if not path.exists():
        created = _generate_key_file(path)
    key = load_signing_key(path, where="the generated signing key")
    assert key is not None  # noqa: S101 - the path is set
    # Recorded on every backup, not only at creation: a state database made afresh (or moved)
    # learns the key again from the host that holds it.
    record_signing_key(engine, fingerprint(key.public_key()), public_text(key), path, now)
    return SigningKey(key, str(path), created)


def public_text(key: Ed25519PrivateKey) -> str:
    """Return the public half as one ``ssh-ed25519 AAAA… backproof`` line."""
    return f"{public_key_text(key.public_key())} backproof"


def _generate_key_file(path: Path) -> Path | None:
    """Write a new pair to ``path`` (0600) unless another process just did; return ``path``
    when this call wrote it, None when another one won the race."""
    make_private_dir(path.parent)
    key = Ed25519PrivateKey.generate()
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # atomic, and fails when another backup made the key first
    except FileExistsError:
        return None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    with os.fdopen(open_private_file(path.with_name(path.name + ".pub")), "w") as public:
        public.write(public_text(key) + "\n")
    return path


def trusted_keys(settings: Settings, engine: Engine | None) -> TrustedKeys:
    """Return the public keys verify and restore accept, and whether unsigned is accepted
    (without ``engine``, only the keys of the configuration).

    Raises ConfigError when a configured key is unusable.
    """
    encryption = settings.encryption
    allow = encryption.allow_unsigned
    if encryption.verify_key is not None:
        key = parse_verify_key(encryption.verify_key)
        return TrustedKeys((key,), "encryption.verify_key", allow)
    configured = load_signing_key(encryption.signing_key_file)
    if configured is not None:
        return TrustedKeys((configured.public_key(),), "encryption.signing_key_file", allow)
    rows = recorded_signing_keys(engine) if engine is not None else []
    recorded = tuple(parse_verify_key(item.public_key) for item in rows)
    return TrustedKeys(recorded, GENERATED_SOURCE, allow)


def reading_keys(context: Context) -> ReadingKeys:
    """Return what verify and restore read backups with: the age identity and the trusted keys."""
    trusted = trusted_keys(context.settings, context.activities.engine)
    return ReadingKeys.from_settings(context.settings.encryption, trusted)


@dataclass(frozen=True)
class ShownKey:
    """The public key ``keys show`` prints: the one this host signs with, else the trusted one."""

    public_key: str
    fingerprint: str
    source: str

    def to_json(self) -> dict[str, str]:
        """Return the document of ``keys show --json``."""
        return {
            "public_key": self.public_key,
            "fingerprint": self.fingerprint,
            "source": self.source,
        }


def show_key(settings: Settings, engine: Engine | None) -> ShownKey:
    """Return the public key of this host's signing key, without generating one.

    Raises NotFoundError when no key is configured, generated or recorded yet.
    """
    encryption = settings.encryption
    path = generated_key_path(settings)
    private = load_signing_key(encryption.signing_key_file)
    source = "encryption.signing_key_file"
    if private is None and path.exists():
        private = load_signing_key(path, where="the generated signing key")
        source = str(path)
    if private is not None:
        return ShownKey(public_text(private), fingerprint(private.public_key()), source)
    trusted = trusted_keys(settings, engine)
    if trusted.keys:
        key = trusted.keys[0]
        return ShownKey(f"{public_key_text(key)} backproof", fingerprint(key), trusted.source)
    raise NotFoundError(
        "no signing key yet: the first `backproof backup` generates one "
        "(or set encryption.signing_key_file)"
    )
