"""Ed25519 signatures of manifests: a bucket writer without the signing key cannot forge one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from backproof.archive.authentication import (
    TrustedKeys,
    authenticate_manifest,
    fingerprint,
    load_signing_key,
    parse_verify_key,
    sign_manifest,
)
from backproof.archive.catalog import parse_manifest
from backproof.archive.manifest import Facts, Manifest, Part
from backproof.errors import ConfigError, IntegrityError


def sample_manifest() -> Manifest:
    return Manifest(
        id="20260101T010000Z-abcdef",
        target="crm",
        created_at=datetime(2026, 1, 1, 1, 0, 0, 123456, tzinfo=UTC),
        finished_at=datetime(2026, 1, 1, 1, 0, 5, tzinfo=UTC),
        tool_version="0.1.0",
        host="backup-host",
        parts=[
            Part(
                name="db",
                file="db.sqlite.zst.age",
                format="sqlite",
                size_bytes=1234,
                sha256="ab" * 32,
                compression="zstd",
                encryption="age",
                raw_size_bytes=9999,
            )
        ],
        facts=Facts(tables={"companies": 40, "contacts": 160}),
        destinations=["local", "offsite"],
    )


def round_trip(manifest: Manifest) -> Manifest:
    """Return the manifest as verify reads it: written as JSON, parsed back."""
    return parse_manifest(manifest.model_dump_json(indent=2).encode(), "test")


def trusting(key: Ed25519PrivateKey, *, allow_unsigned: bool = False) -> TrustedKeys:
    return TrustedKeys((key.public_key(),), "test", allow_unsigned)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_signed_manifest_is_accepted_after_a_round_trip_through_json(key: Ed25519PrivateKey):
    signed = round_trip(sign_manifest(sample_manifest(), key))

    checked = authenticate_manifest(signed, trusting(key), "test")

    assert checked == f"signature by {fingerprint(key.public_key())} checked"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda data: data.replace("ab" * 32, "cd" * 32),
        lambda data: data.replace('"size_bytes": 1234', '"size_bytes": 1235'),
        lambda data: data.replace('"companies": 40', '"companies": 41'),
        lambda data: data.replace('"encryption": "age"', '"encryption": null'),
        lambda data: data.replace('"offsite"', '"elsewhere"'),
    ],
    ids=["checksum", "size", "facts", "encryption", "destinations"],
)
def test_altered_manifest_is_rejected_even_with_consistent_checksums(
    key: Ed25519PrivateKey, tamper: object
):
    text = sign_manifest(sample_manifest(), key).model_dump_json(indent=2)
    altered = parse_manifest(tamper(text).encode(), "test")  # type: ignore[operator]

    with pytest.raises(IntegrityError, match="does not match its signature"):
        authenticate_manifest(altered, trusting(key), "backup crm/x")


def test_manifest_signed_with_another_key_is_rejected_naming_both_keys(key: Ed25519PrivateKey):
    forger = Ed25519PrivateKey.generate()
    forged = sign_manifest(sample_manifest(), forger)

    with pytest.raises(IntegrityError, match="signed with key SHA256:") as caught:
        authenticate_manifest(forged, trusting(key), "test")
    assert fingerprint(key.public_key()) in str(caught.value)


def test_unsigned_manifest_is_rejected_by_default(key: Ed25519PrivateKey):
    with pytest.raises(IntegrityError, match="backup crm/x: the manifest is not signed"):
        authenticate_manifest(sample_manifest(), trusting(key), "backup crm/x")


def test_unsigned_manifest_is_rejected_even_when_no_key_is_trusted():
    with pytest.raises(IntegrityError, match="not signed"):
        authenticate_manifest(sample_manifest(), TrustedKeys(), "test")


def test_signed_manifest_is_rejected_when_no_key_is_trusted(key: Ed25519PrivateKey):
    signed = sign_manifest(sample_manifest(), key)

    with pytest.raises(IntegrityError, match=r"not with a trusted key \[none"):
        authenticate_manifest(signed, TrustedKeys(), "test")


def test_malformed_signature_is_rejected(key: Ed25519PrivateKey):
    broken = sample_manifest().model_copy(update={"authentication": "hmac-sha256 whatever"})

    with pytest.raises(IntegrityError, match="malformed"):
        authenticate_manifest(broken, trusting(key), "test")


def test_unsigned_manifest_is_accepted_only_with_allow_unsigned(key: Ed25519PrivateKey):
    checked = authenticate_manifest(sample_manifest(), trusting(key, allow_unsigned=True), "test")

    assert checked == "unsigned: accepted because encryption.allow_unsigned = true"


def test_signed_manifest_is_still_checked_with_allow_unsigned(key: Ed25519PrivateKey):
    forged = sign_manifest(sample_manifest(), Ed25519PrivateKey.generate())

    with pytest.raises(IntegrityError, match="signed with key"):
        authenticate_manifest(forged, trusting(key, allow_unsigned=True), "test")


def test_signature_moved_onto_another_backup_id_is_rejected(key: Ed25519PrivateKey):
    signed = sign_manifest(sample_manifest(), key)
    moved = signed.model_copy(update={"id": "20260102T010000Z-abcdef"})

    with pytest.raises(IntegrityError, match="does not match its signature"):
        authenticate_manifest(moved, trusting(key), "test")


def test_openssh_and_pem_signing_keys_both_load(tmp_path: Path, key: Ed25519PrivateKey):
    for name, private_format in (
        ("openssh", serialization.PrivateFormat.OpenSSH),
        ("pem", serialization.PrivateFormat.PKCS8),
    ):
        path = tmp_path / name
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, private_format, serialization.NoEncryption()
            )
        )

        loaded = load_signing_key(path)

        assert loaded is not None
        assert fingerprint(loaded.public_key()) == fingerprint(key.public_key())


def test_missing_signing_key_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"at encryption\.signing_key_file: .* cannot read it"):
        load_signing_key(tmp_path / "nowhere")


def test_rsa_signing_key_is_refused(tmp_path: Path):
    path = tmp_path / "rsa.pem"
    path.write_bytes(
        generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    with pytest.raises(ConfigError, match="not an Ed25519 key"):
        load_signing_key(path)


def test_garbage_verify_key_is_a_config_error():
    with pytest.raises(ConfigError, match=r"at encryption\.verify_key"):
        parse_verify_key("ssh-ed25519 not-base64!")


def test_verify_key_accepts_the_pem_form(key: Ed25519PrivateKey):
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )

    assert fingerprint(parse_verify_key(pem)) == fingerprint(key.public_key())
