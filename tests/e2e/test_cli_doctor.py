"""backproof doctor as a user runs it (issue 9 item 10): one line per check, exit 1 when one
fails, and nothing changed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli_user import User
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backproof.archive.authentication import sign_manifest
from backproof.archive.catalog import parse_manifest


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Return every file under ``folder`` with its size and modification time.

    SQLite's ``-shm`` (the shared-memory index of a WAL database, which any reader touches,
    the application's own readers too) is left out: it holds no data.
    """
    return {
        str(path): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith("-shm")
    }


def test_doctor_after_a_backup_passes_every_check_and_changes_nothing(user: User):
    user.backup()
    before = snapshot(user.demo.folder)

    process = user.run("doctor")
    document = user.json("doctor")

    assert process.returncode == 0, process.stdout
    lines = process.stdout.strip().splitlines()
    assert all(line.startswith("✓ ") for line in lines), lines
    names = {check["name"] for check in document["checks"]}
    assert {"state", "signing", "signature", "target crm", "destination local"} <= names
    assert {"git and folders", "verify space crm", "clock", "target crm verify user"} <= names
    assert document["ok"] is True
    assert snapshot(user.demo.folder) == before


def test_doctor_before_the_first_run_creates_nothing(user: User):
    process = user.run("doctor")

    assert process.returncode == 0
    assert "! signing: no signing key yet: the first backup generates one" in process.stdout
    assert not (user.demo.folder / ".backproof").exists()
    assert not (user.demo.folder / "backups").exists()


def test_doctor_fails_on_a_destination_git_does_not_ignore(user: User):
    subprocess.run(["git", "init", "-q", str(user.demo.folder)], check=True)

    process = user.run("doctor")

    assert process.returncode == 1
    assert "✗ git and folders: at destinations[0].url:" in process.stdout
    assert "add the line `/backups/`" in process.stdout


def test_doctor_fails_when_verify_would_refuse_the_newest_backup(user: User):
    backup_id = user.backup()
    path = user.demo.folder / "backups" / "crm" / backup_id / "manifest.json"
    forged = sign_manifest(parse_manifest(path.read_bytes(), "x"), Ed25519PrivateKey.generate())
    path.write_text(forged.model_dump_json(), encoding="utf-8")

    process = user.run("doctor", "--json")

    document = json.loads(process.stdout)
    failed = [check for check in document["checks"] if check["status"] == "failed"]
    assert process.returncode == 1
    assert [check["name"] for check in failed] == ["signature"]
    assert "verify would refuse it" in failed[0]["message"]
