"""Faults a user meets: a full disk, a permissive umask, an unreadable file, links out."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_user import User, cli_argv

from cli_process import clean_environment

TMPFS_SIZE = "2m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs, unmounted afterwards; the test fails if it cannot be mounted."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a {TMPFS_SIZE} tmpfs (run as root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def run_with_umask_000(user: User, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``backproof ARGS…`` with umask 000, as a careless service manager would."""
    return subprocess.run(
        cli_argv(*args),
        cwd=user.demo.folder,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: os.umask(0),
    )


def run_without_root_file_access(user: User, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``backproof ARGS…`` as root without the capabilities that bypass file modes."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv (util-linux) is needed to drop root's file access capabilities")
    return subprocess.run(
        [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--", *cli_argv(*args)],
        cwd=user.demo.folder,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def modes_under(folder: Path) -> dict[str, int]:
    """Return the permission bits of ``folder`` and everything under it."""
    paths = [folder, *folder.rglob("*")]
    return {str(path): stat.S_IMODE(path.lstat().st_mode) for path in paths}


def test_full_disk_fails_the_backup_and_leaves_the_earlier_one_verifiable(
    user: User, small_disk: Path
) -> None:
    on_small_disk = {"BACKPROOF_DESTINATIONS__0__URL": f"file://{small_disk}"}
    earlier = user.backup(env=on_small_disk)
    (user.demo.uploads / "video.bin").write_bytes(os.urandom(3 * 1024 * 1024))

    process = user.run("backup", env=on_small_disk)

    assert process.returncode == 1
    assert "no space left on the device" in process.stderr
    assert len(process.stderr.strip().splitlines()) == 1
    assert [path.name for path in (small_disk / "crm").iterdir()] == [earlier]
    assert not list(small_disk.rglob("*.partial"))
    assert user.ok("verify", env=on_small_disk).startswith(f"verify passed: backup {earlier}")
    assert user.audit_rows("backup")[0]["status"] == "failed"


def test_files_and_folders_are_private_under_umask_000(user: User) -> None:
    for command in ("backup", "verify", "cleanup"):
        process = run_with_umask_000(user, command)
        assert process.returncode == 0, process.stderr

    modes = modes_under(user.backups) | modes_under(user.demo.folder / ".backproof")

    loose = {
        path: oct(mode)
        for path, mode in modes.items()
        if mode != (0o700 if Path(path).is_dir() else 0o600)
    }
    assert loose == {}


def test_restored_database_is_private_under_umask_000(user: User) -> None:
    backup_id = user.backup()

    process = run_with_umask_000(user, "restore", backup_id, "--to", "sqlite:///restored.db")

    assert process.returncode == 0, process.stderr
    assert stat.S_IMODE((user.demo.folder / "restored.db").stat().st_mode) == 0o600


def test_unreadable_file_fails_the_backup_naming_it(user: User) -> None:
    unreadable = user.demo.uploads / "contracts" / "2026" / "smlouva-001.txt"
    unreadable.chmod(0)

    process = run_without_root_file_access(user, "backup")

    assert process.returncode == 1
    assert str(unreadable) in process.stderr
    activity = user.audit_rows("backup")[0]
    assert activity["status"] == "failed"
    assert str(unreadable) in activity["message"]
    assert user.json("list")["backups"] == []


def test_symlinks_are_stored_as_links_and_never_followed_out(user: User, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not part of the uploads", "utf-8")
    (user.demo.uploads / "secret-link").symlink_to(outside / "secret.txt")
    (user.demo.uploads / "folder-link").symlink_to(outside)
    backup_id = user.backup()
    user.ok("verify")

    restore = user.run("restore", backup_id, "--files-to", "out")

    # Stored as links, never followed; a link out of the folder is refused at restore (issue 9).
    assert restore.returncode == 1
    assert "-link': a link to" in restore.stderr
    assert "is refused" in restore.stderr
    assert len(restore.stderr.strip().splitlines()) == 1
    assert not any(path.name == "secret.txt" for path in (user.demo.folder / "out").rglob("*"))
    assert (outside / "secret.txt").read_text("utf-8") == "not part of the uploads"


def test_a_link_within_the_files_is_restored_as_the_same_link(user: User) -> None:
    (user.demo.uploads / "latest").symlink_to("README-účetní.txt")
    backup_id = user.backup()

    user.ok("restore", backup_id, "--files-to", "out")

    restored = user.demo.folder / "out" / "uploads"
    assert (restored / "latest").readlink() == Path("README-účetní.txt")
    assert (restored / "latest").read_text("utf-8") == (
        user.demo.uploads / "README-účetní.txt"
    ).read_text("utf-8")


def test_cleanup_ignores_file_times(user: User) -> None:
    kept = {user.backup(), user.backup()}
    long_ago = 631152000  # 1990-01-01, far outside every retention window
    for path in user.backups.rglob("*"):
        os.utime(path, (long_ago, long_ago), follow_symlinks=False)

    output = user.ok("cleanup")

    assert "deleted 0 backups" in output
    assert {path.name for path in (user.backups / "crm").iterdir()} == kept
