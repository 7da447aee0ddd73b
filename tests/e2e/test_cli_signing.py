"""Signed by default (issue 9 item 1): the first backup makes a key pair, every manifest is
signed, verify and restore refuse what is unsigned or signed by another key before importing."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from cli_user import User
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backproof.archive.authentication import sign_manifest
from backproof.archive.catalog import parse_manifest

KEY_NOTICE = "signing: created the key pair"


def manifest_path(user: User, backup_id: str) -> Path:
    return user.demo.folder / "backups" / "crm" / backup_id / "manifest.json"


def strip_signature(user: User, backup_id: str) -> None:
    """Rewrite a manifest without its signature, as a storage writer (or an old version) would."""
    path = manifest_path(user, backup_id)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["authentication"] = None
    path.write_text(json.dumps(document), encoding="utf-8")


def sign_with_another_key(user: User, backup_id: str) -> None:
    """Re-sign a manifest with a key of the storage writer's own."""
    path = manifest_path(user, backup_id)
    manifest = parse_manifest(path.read_bytes(), str(path))
    forged = sign_manifest(manifest, Ed25519PrivateKey.generate())
    path.write_text(forged.model_dump_json(indent=2), encoding="utf-8")


def append_to_config(user: User, text: str) -> None:
    config = user.demo.config
    config.write_text(config.read_text(encoding="utf-8") + text, encoding="utf-8")


def scratch_files(user: User) -> list[Path]:
    folder = user.demo.folder / ".backproof" / "verify"
    return list(folder.iterdir()) if folder.exists() else []


def test_first_backup_creates_a_private_key_pair_and_says_so_once(user: User):
    first = user.run("backup")
    second = user.run("backup")

    key_file = user.demo.folder / ".backproof" / "keys" / "manifest-signing.key"
    assert first.returncode == 0 and second.returncode == 0
    assert KEY_NOTICE in first.stderr and str(key_file) in first.stderr
    assert KEY_NOTICE not in second.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    backups = [line.strip() for line in (first.stdout, second.stdout)]
    shown = user.json("keys", "show")
    for backup_id in backups:
        manifest = json.loads(manifest_path(user, backup_id).read_text(encoding="utf-8"))
        assert manifest["authentication"].split(" ")[1] == shown["fingerprint"]
    assert f"signature by {shown['fingerprint']} checked" in user.ok("verify")


def test_verify_refuses_an_unsigned_manifest_before_importing_anything(user: User):
    backup_id = user.backup()
    strip_signature(user, backup_id)

    verify = user.run("verify")

    assert verify.returncode == 1
    lines = verify.stderr.strip().splitlines()
    assert len(lines) == 1
    assert backup_id in lines[0] and "the manifest is not signed" in lines[0]
    assert scratch_files(user) == []
    row = user.activities("verify")[0]
    assert row["status"] == "failed" and "not signed" in row["message"]


def test_restore_refuses_a_manifest_signed_by_another_key_before_extracting(
    user: User, tmp_path: Path
):
    backup_id = user.backup()
    sign_with_another_key(user, backup_id)
    folder = tmp_path / "restored"

    restore = user.run("restore", backup_id, "--files-to", str(folder))

    assert restore.returncode == 1
    assert len(restore.stderr.strip().splitlines()) == 1
    assert f"{backup_id} on local: the manifest is signed with key SHA256:" in restore.stderr
    assert not folder.exists() or list(folder.iterdir()) == []
    assert user.activities("restore")[0]["status"] == "failed"


def test_allow_unsigned_accepts_an_unsigned_backup_and_health_and_report_warn(user: User):
    backup_id = user.backup()
    strip_signature(user, backup_id)
    append_to_config(user, "\n[encryption]\nallow_unsigned = true\n")

    user.ok("verify")
    health = user.run("health", "--json")
    report = user.run("report")

    checks = {check["name"]: check for check in json.loads(health.stdout)["targets"][0]["checks"]}
    assert health.returncode == 1
    assert checks["signing"]["status"] == "warning"
    assert "allow_unsigned" in checks["signing"]["message"]
    assert report.returncode == 0
    written = user.demo.folder / "docs" / "16-generated" / "backup-report.md"
    assert "allow_unsigned" in written.read_text(encoding="utf-8")
    assert user.activities("verify")[0]["meta"]["authentication"].startswith("unsigned: accepted")


def test_a_host_that_only_verifies_needs_only_the_public_key(user: User, tmp_path: Path):
    user.backup()
    public_key = user.ok("keys", "show").strip()
    host = tmp_path / "verify-host"
    host.mkdir()
    base = (
        '[state]\nurl = "sqlite:///state.db"\n\n[[targets]]\nname = "crm"\n'
        f'database = "sqlite:///{user.demo.database}"\n'
        f'files = ["{user.demo.folder / "storage" / "app" / "uploads"}"]\n\n'
        f'[[destinations]]\nname = "local"\nurl = "file://{user.demo.folder / "backups"}"\n'
    )
    (host / "backproof.toml").write_text(base, encoding="utf-8")
    untrusting = user.run("verify", cwd=host)
    (host / "backproof.toml").write_text(
        base + f'\n[encryption]\nverify_key = "{public_key}"\n', encoding="utf-8"
    )

    trusting = user.run("verify", cwd=host)

    assert public_key.startswith("ssh-ed25519 AAAA")
    assert untrusting.returncode == 1
    assert "not with a trusted key [none" in untrusting.stderr
    assert trusting.returncode == 0, trusting.stderr
    assert not (host / ".backproof" / "keys").exists()


def test_keys_show_before_any_backup_says_how_a_key_comes(user: User):
    shown = user.run("keys", "show")

    assert shown.returncode == 1
    assert "no signing key yet: the first `backproof backup` generates one" in shown.stderr
