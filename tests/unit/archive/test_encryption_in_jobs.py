"""Encryption and signatures through the jobs: backup, verify and restore on a local destination."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pyrage
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backproof.archive.authentication import public_key_text
from backproof.archive.catalog import manifest_key, part_key
from backproof.config.models import EncryptionSettings, Settings
from backproof.demo import DemoLayout
from backproof.errors import IntegrityError, RestoreError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from backproof.jobs.restore import run_restore
from backproof.jobs.verify import run_verify
from backproof.storage.registry import local_path

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def write_keys(folder: Path) -> dict[str, str]:
    """Write an age identity and a signing key; return the [encryption] settings for them."""
    identity = pyrage.x25519.Identity.generate()
    identity_file = folder / "age.key"
    identity_file.write_text(f"{identity}\n", encoding="ascii")
    signing = Ed25519PrivateKey.generate()
    signing_file = folder / "signing_ed25519"
    signing_file.write_bytes(
        signing.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    return {
        "recipients": str(identity.to_public()),
        "identity_file": str(identity_file),
        "signing_key_file": str(signing_file),
        "verify_key": public_key_text(signing.public_key()),
    }


def new_folder(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    return write_keys(tmp_path)


@pytest.fixture
def encrypted_context(context: Context, settings: Settings, keys: dict[str, str]) -> Context:
    settings.encryption = EncryptionSettings(
        recipients=[keys["recipients"]],
        identity_file=Path(keys["identity_file"]),
        signing_key_file=Path(keys["signing_key_file"]),
        verify_key=keys["verify_key"],
    )
    return context


def backup_folder(settings: Settings) -> Path:
    return local_path(settings.destinations[0].url)


def scratch_databases(settings: Settings) -> list[Path]:
    folder = settings.state.lock_dir.parent / "verify"
    return sorted(folder.glob("verify_*")) if folder.exists() else []


def test_backup_encrypts_every_part_and_signs_the_manifest(encrypted_context: Context):
    result = run_backup(encrypted_context)

    manifest = json.loads(
        (
            backup_folder(encrypted_context.settings) / manifest_key("crm", result.backup_id)
        ).read_text(encoding="utf-8")
    )
    assert [part["encryption"] for part in manifest["parts"]] == ["age", "age"]
    assert all(part["file"].endswith(".age") for part in manifest["parts"])
    assert manifest["authentication"].startswith("ed25519 SHA256:")
    stored = backup_folder(encrypted_context.settings) / part_key(
        "crm", result.backup_id, manifest["parts"][0]["file"]
    )
    assert stored.read_bytes().startswith(b"age-encryption.org/v1\n")


def test_backup_needs_no_identity_on_the_backup_host(encrypted_context: Context):
    encrypted_context.settings.encryption.identity_file = None
    encrypted_context.settings.encryption.verify_key = None

    result = run_backup(encrypted_context)

    assert result.backup_id


def test_verify_of_an_encrypted_signed_backup_passes_and_records_the_signature(
    encrypted_context: Context,
):
    backup = run_backup(encrypted_context)

    result = run_verify(encrypted_context)

    assert result.backup_id == backup.backup_id
    assert result.rows > 0
    row = encrypted_context.activities.find(job="verify", limit=1)[0]
    assert row.meta["authentication"].startswith("signature by SHA256:")


def test_restore_of_encrypted_files_gives_the_same_files(
    encrypted_context: Context, demo: DemoLayout, tmp_path: Path
):
    backup = run_backup(encrypted_context)

    run_restore(encrypted_context, backup.backup_id, None, tmp_path / "restored")

    original = sorted(path.name for path in demo.uploads.rglob("*") if path.is_file())
    restored = sorted(path.name for path in (tmp_path / "restored").rglob("*") if path.is_file())
    assert restored == original


def test_verify_without_identity_fails_before_anything_is_imported(encrypted_context: Context):
    run_backup(encrypted_context)
    encrypted_context.settings.encryption.identity_file = None

    with pytest.raises(RestoreError, match=r"set encryption\.identity_file"):
        run_verify(encrypted_context)
    assert scratch_databases(encrypted_context.settings) == []
    assert encrypted_context.activities.find(job="verify", limit=1)[0].status == "failed"


def test_verify_with_another_identity_fails_with_one_clear_error(
    encrypted_context: Context, tmp_path: Path
):
    run_backup(encrypted_context)
    other = write_keys(new_folder(tmp_path / "other"))
    encrypted_context.settings.encryption.identity_file = Path(other["identity_file"])

    with pytest.raises(RestoreError, match="holds no identity of the recipients"):
        run_verify(encrypted_context)
    assert scratch_databases(encrypted_context.settings) == []


def test_replaced_part_with_recomputed_checksums_is_caught_by_the_signature(
    encrypted_context: Context,
):
    """An attacker who can write to the bucket re-encrypts a forged dump to the (public)
    recipients and fixes the manifest's size and sha256: only the signature catches it."""
    backup = run_backup(encrypted_context)
    folder = backup_folder(encrypted_context.settings)
    manifest_path = folder / manifest_key("crm", backup.backup_id)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    db_part = manifest["parts"][0]
    forged = pyrage.encrypt(
        b"forged dump",
        [pyrage.x25519.Recipient.from_str(encrypted_context.settings.encryption.recipients[0])],
    )
    (folder / part_key("crm", backup.backup_id, db_part["file"])).write_bytes(forged)
    db_part["sha256"] = hashlib.sha256(forged).hexdigest()
    db_part["size_bytes"] = len(forged)
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")

    with pytest.raises(IntegrityError, match="does not match its signature"):
        run_verify(encrypted_context)
    assert scratch_databases(encrypted_context.settings) == []


def test_replaced_part_without_manifest_change_is_caught_by_the_checksum(
    encrypted_context: Context,
):
    backup = run_backup(encrypted_context)
    folder = backup_folder(encrypted_context.settings)
    part = backup.parts[0]
    path = folder / part_key("crm", backup.backup_id, part.file)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    with pytest.raises(IntegrityError, match="does not match its checksum"):
        run_verify(encrypted_context)


def test_backup_signed_by_the_generated_key_is_refused_where_verify_key_names_another(
    encrypted_context: Context,
):
    encrypted_context.settings.encryption.signing_key_file = None
    run_backup(encrypted_context)

    with pytest.raises(IntegrityError, match="not with a trusted key"):
        run_verify(encrypted_context)


def test_cli_verify_with_a_wrong_identity_exits_1_with_one_line_and_a_failed_activity(
    demo: DemoLayout, run_cli: CliRunner, tmp_path: Path
):
    keys = write_keys(tmp_path)
    other = write_keys(new_folder(tmp_path / "other"))
    config = demo.config.read_text(encoding="utf-8")
    encryption = (
        "\n[encryption]\n"
        f'recipients = ["{keys["recipients"]}"]\n'
        f'identity_file = "{other["identity_file"]}"\n'
        f'signing_key_file = "{keys["signing_key_file"]}"\n'
        f'verify_key = "{keys["verify_key"]}"\n'
    )
    demo.config.write_text(config + encryption, encoding="utf-8")
    assert run_cli("backup").returncode == 0

    verify = run_cli("verify")
    listed = run_cli("activities", "--job", "verify", "--json")
    activities = json.loads(listed.stdout)

    assert verify.returncode == 1
    assert len(verify.stderr.strip().splitlines()) == 1
    assert "holds no identity of the recipients" in verify.stderr
    assert "Traceback" not in verify.stderr
    assert activities["activities"][0]["status"] == "failed"
