"""One run at a time per job and target, across processes; a killed holder's lock is reclaimed."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from backproof.errors import LockTimeoutError
from backproof.state.locks import hold_run_lock

HOLDER = """
import sys
from pathlib import Path
from backproof.state.locks import hold_run_lock
with hold_run_lock(Path(sys.argv[1]), "backup", "crm", 0):
    print("held", flush=True)
    sys.stdin.read()
"""


def start_holder(lock_dir: Path) -> subprocess.Popen[str]:
    """Start a process that holds the backup lock of crm until its stdin closes."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def test_second_holder_times_out_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    holder = start_holder(tmp_path)
    try:
        with (
            pytest.raises(LockTimeoutError, match="another backup of target 'crm' is running"),
            hold_run_lock(tmp_path, "backup", "crm", 0.2),
        ):
            pass
    finally:
        holder.communicate("")


def test_lock_of_a_killed_process_is_reclaimed_at_once(tmp_path: Path) -> None:
    holder = start_holder(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.communicate()

    with hold_run_lock(tmp_path, "backup", "crm", 0):
        reclaimed = True

    assert reclaimed


def test_locks_of_other_targets_do_not_block(tmp_path: Path) -> None:
    holder = start_holder(tmp_path)
    try:
        with hold_run_lock(tmp_path, "backup", "shop", 0):
            acquired = True
    finally:
        holder.communicate("")

    assert acquired


def test_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), hold_run_lock(tmp_path, "verify", "crm", 0):
        raise RuntimeError("boom")

    with hold_run_lock(tmp_path, "verify", "crm", 0):
        acquired = True

    assert acquired
