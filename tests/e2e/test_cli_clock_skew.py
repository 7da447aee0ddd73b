"""A backup made with a wrong clock (issue 9 item 4), with a real wrong clock: ``faketime``
around one ``backup`` process, then normal backups, verify, cleanup under the cap, health."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from cli_user import User, cli_argv

from cli_process import clean_environment

FUTURE = "2099-01-01 00:00:00"


def backup_with_a_wrong_clock(user: User, when: str = FUTURE) -> str:
    """Run one ``backup`` under ``faketime`` (the clock says ``when``); return its id."""
    faketime = shutil.which("faketime")
    if faketime is None:
        pytest.fail("faketime is missing: run scripts/install-system-deps.sh (Debian: faketime)")
    process = subprocess.run(
        [faketime, when, *cli_argv("backup")],
        cwd=user.demo.folder,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    backup_id = process.stdout.strip()
    assert backup_id.startswith(when[:4]), backup_id
    return backup_id


def test_a_backup_dated_2099_never_hides_the_newest_and_health_says_why(user: User):
    first = user.backup()
    skewed = backup_with_a_wrong_clock(user)
    newest = user.backup()
    sizes = {item["id"]: item["size_bytes"] for item in user.json("list")["backups"]}
    # A cap that holds the two protected backups but not the third: cleanup must choose.
    cap_mb = (sizes[skewed] + sizes[newest] + sizes[first] // 2) / 1_000_000
    config = user.demo.config
    config.write_text(
        config.read_text(encoding="utf-8") + f"\n[retention]\nmax_storage_mb = {cap_mb}\n",
        encoding="utf-8",
    )

    verified = user.ok("verify")
    listed = user.ok("list")
    cleaned = user.ok("cleanup")
    health = user.run("health", "--json")
    doctor = user.run("doctor")

    assert verified.startswith(f"verify passed: backup {newest}")
    assert f"passed over backup {skewed}: dated 2099-01-01" in verified
    assert "its times cannot be believed: dated 2099-01-01" in listed
    assert f"deleted {first} (over storage cap {cap_mb:g} MB)" in cleaned
    assert f"kept {skewed}, never newest" in cleaned
    remaining = {item["id"]: item for item in user.json("list")["backups"]}
    assert set(remaining) == {skewed, newest}
    assert remaining[skewed]["clock_warning"].startswith("dated 2099-01-01")
    assert remaining[newest]["clock_warning"] is None
    verdict = json.loads(health.stdout)
    checks = {check["name"]: check for check in verdict["targets"][0]["checks"]}
    assert health.returncode == 1
    assert verdict["status"] == "warning"
    assert checks["clock"]["status"] == "warning"
    assert skewed in checks["clock"]["message"]
    assert checks["rpo"]["status"] == "ok"
    assert doctor.returncode == 0
    assert f"! clock: crm on local: backup {skewed} is never newest: dated 2099" in doctor.stdout


def test_cleanup_never_deletes_the_backup_the_audit_trail_made_last(user: User):
    newest_by_date = user.backup()
    # The clock says 2020: the manifest looks years old, far outside retention.
    made_last = backup_with_a_wrong_clock(user, "2020-01-01 00:00:00")

    cleaned = user.ok("cleanup")

    remaining = {item["id"] for item in user.json("list")["backups"]}
    assert remaining == {newest_by_date, made_last}
    assert "deleted 0 backups" in cleaned
