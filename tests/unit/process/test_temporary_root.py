"""The service's temporary root: every temporary file of the process under it, removed with it,
and the roots of processes that are gone removed at the next start."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from backproof.process.temporary_root import (
    PREFIX,
    open_temporary_root,
    process_temporary_root,
    remove_abandoned_roots,
)


def ended_pid() -> int:
    """The pid of a process that has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_temporary_files_are_made_under_the_root_and_removed_with_it(tmp_path: Path) -> None:
    root = open_temporary_root("serve", tmp_path)
    try:
        with tempfile.NamedTemporaryFile(delete=False) as handle:
            handle.write(b"a job's snapshot")
        job_folder = Path(tempfile.mkdtemp(prefix="backproof-"))
        (job_folder / "part").write_bytes(b"x")

        assert Path(handle.name).parent == root.path
        assert job_folder.parent == root.path
        assert root.path.name.startswith(f"{PREFIX}serve-{os.getpid()}-")
        assert root.remove()
        assert list(tmp_path.iterdir()) == []
    finally:
        root.restore()
    assert tempfile.gettempdir() != str(root.path)


def test_a_removed_root_makes_late_temporary_files_fail_not_leak(tmp_path: Path) -> None:
    root = open_temporary_root("serve", tmp_path)
    try:
        root.remove()
        try:
            tempfile.mkdtemp()
        except FileNotFoundError:
            pass
        else:
            raise AssertionError("a temporary folder was made after the root was removed")
        assert list(tmp_path.iterdir()) == []
    finally:
        root.restore()


def test_only_the_roots_of_processes_that_are_gone_are_removed(tmp_path: Path) -> None:
    abandoned = tmp_path / f"{PREFIX}serve-{ended_pid()}-q1w2"
    (abandoned / "backproof-a").mkdir(parents=True)
    (abandoned / "backproof-a" / "snapshot.db").write_bytes(b"half written")
    abandoned_worker = tmp_path / f"{PREFIX}worker-{ended_pid()}-z9x8"
    (abandoned_worker / "pymp-abc").mkdir(parents=True)
    alive = tmp_path / f"{PREFIX}worker-{os.getppid()}-e3r4"
    alive.mkdir()
    own = tmp_path / f"{PREFIX}serve-{os.getpid()}-t5y6"
    own.mkdir()
    unnamed = tmp_path / f"{PREFIX}serve-notapid-u7i8"
    other_role = tmp_path / f"{PREFIX}{ended_pid()}-o1p2"
    other_role.mkdir()
    unnamed.mkdir()
    elsewhere = tmp_path / "backproof-spool-1"
    elsewhere.mkdir()
    target = tmp_path / "kept"
    target.mkdir()
    link = tmp_path / f"{PREFIX}serve-{ended_pid()}-link"
    link.symlink_to(target)

    removed = remove_abandoned_roots(tmp_path)

    assert removed == sorted([abandoned, abandoned_worker])
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        path.name for path in (alive, own, unnamed, other_role, elsewhere, target, link)
    )


def test_a_root_is_only_made_for_a_known_role(tmp_path: Path) -> None:
    try:
        open_temporary_root("cron", tmp_path)
    except ValueError as exc:
        assert "cron" in str(exc)
    else:
        raise AssertionError("a root was made for an unknown role")
    assert list(tmp_path.iterdir()) == []


def test_a_process_root_replaces_the_abandoned_ones_and_goes_even_when_the_body_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    abandoned = tmp_path / f"{PREFIX}worker-{ended_pid()}-a1s2"
    (abandoned / "pymp-1").mkdir(parents=True)
    lines: list[str] = []

    with pytest.raises(RuntimeError), process_temporary_root("worker", lines.append) as root:
        assert root.path.parent == tmp_path
        (Path(tempfile.mkdtemp()) / "snapshot.db").write_bytes(b"x")
        raise RuntimeError("the worker failed")

    assert list(tmp_path.iterdir()) == []
    assert lines == [f"removed {abandoned}, left by a backproof serve or worker that is gone"]
