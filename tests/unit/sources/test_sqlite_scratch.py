"""SQLite scratch files: only our own leftovers are ever deleted (issue 9 item 5)."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from backproof.sources.sqlite import SqliteScratchFolder, sqlite_url
from sqlite_leftovers import leave_scratch

NAME = "verify_crm_20261125t010000z_abcdef"


def scratch_folder(folder: Path) -> SqliteScratchFolder:
    """The scratch folder ``verify.url = "sqlite:///<folder>"`` names."""
    return SqliteScratchFolder.from_url(sqlite_url(folder))


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The pid of a process that is still running (another verify, say)."""
    process = subprocess.Popen(["sleep", "60"])
    yield process.pid
    process.kill()
    process.wait()


def test_a_leftover_of_a_process_that_ended_is_dropped_with_its_files(tmp_path: Path):
    folder = tmp_path / "scratch"
    leftover = leave_scratch(folder, NAME)
    Path(f"{leftover}-wal").write_bytes(b"wal")

    dropped = scratch_folder(folder).drop_leftover_scratches()

    assert dropped == [leftover.name]
    assert list(folder.iterdir()) == []


def test_a_users_file_that_only_matches_the_pattern_is_never_deleted(tmp_path: Path):
    folder = tmp_path / "scratch"
    folder.mkdir()
    users = [folder / "verify_notes.sqlite", folder / f"{NAME}.sqlite", folder / "verify_x.db"]
    for path in users:
        path.write_bytes(b"the user's own")

    dropped = scratch_folder(folder).drop_leftover_scratches()

    assert dropped == []
    assert all(path.exists() for path in users)


def test_the_scratch_of_a_verify_still_running_is_never_touched(tmp_path: Path, live_pid: int):
    folder = tmp_path / "scratch"
    running = leave_scratch(folder, NAME, pid=live_pid)

    dropped = scratch_folder(folder).drop_leftover_scratches()

    assert dropped == []
    assert running.exists()


def test_a_marker_on_a_file_with_another_name_shape_proves_nothing(tmp_path: Path):
    folder = tmp_path / "scratch"
    mine = leave_scratch(folder, "verify_my_own_copy")

    assert scratch_folder(folder).drop_leftover_scratches() == []
    assert mine.exists()


def test_scratch_is_made_with_a_marker_and_dropped_with_it(tmp_path: Path):
    folder = tmp_path / "scratch"

    server = scratch_folder(folder)
    marker = Path(f"{server.create_scratch(NAME).path}.owner")
    marked = marker.read_text(encoding="utf-8")
    server.drop_scratch(NAME)

    assert marked.startswith("backproof-verify host=")
    assert not marker.exists()


def test_an_existing_scratch_folder_is_never_chmodded(tmp_path: Path):
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o755)

    scratch_folder(folder).create_scratch(NAME)

    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_a_missing_scratch_folder_is_created_private(tmp_path: Path):
    folder = tmp_path / "made" / "scratch"

    scratch_folder(folder).create_scratch(NAME)

    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
