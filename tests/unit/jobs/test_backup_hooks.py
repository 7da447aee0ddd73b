"""Hooks around a backup: before and after commands, their output in the activity, failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from backproof.config.models import HookSettings
from backproof.errors import HookError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from backproof.state.records import BackupMeta
from backproof.storage.memory import MemoryStorage


def set_hooks(context: Context, **hooks: object) -> None:
    """Give the demo target these hooks."""
    context.settings.targets[0].hooks = HookSettings.model_validate(hooks)


def test_hooks_run_in_order_and_their_output_is_in_the_activity(
    memory_context: Context, tmp_path: Path
) -> None:
    trail = tmp_path / "trail"
    set_hooks(
        memory_context,
        before_backup=[f"sh -c 'echo maintenance on; echo before >> {trail}'"],
        after_backup=[f"sh -c 'echo maintenance off; echo after >> {trail}'"],
    )

    run_backup(memory_context)

    hooks = BackupMeta.read(memory_context.activities.find(job="backup")[0]).hooks
    assert [(hook.phase, hook.status) for hook in hooks] == [
        ("before_backup", "success"),
        ("after_backup", "success"),
    ]
    assert hooks[0].output.strip() == "maintenance on"
    assert trail.read_text(encoding="utf-8") == "before\nafter\n"


def test_failing_before_hook_fails_the_backup_and_still_runs_the_after_hooks(
    memory_context: Context, memory_storage: MemoryStorage, tmp_path: Path
) -> None:
    after = tmp_path / "after-ran"
    set_hooks(
        memory_context,
        before_backup=["sh -c 'echo cannot enter maintenance >&2; exit 3'"],
        after_backup=[f"touch {after}"],
    )

    with pytest.raises(HookError, match=r"before_backup hook .* failed"):
        run_backup(memory_context)

    activity = memory_context.activities.find(job="backup")[0]
    assert activity.status == "failed"
    assert "cannot enter maintenance" in (activity.message or "")
    assert memory_storage.objects == {}
    assert after.exists()
    assert [hook.phase for hook in BackupMeta.read(activity).hooks] == [
        "before_backup",
        "after_backup",
    ]


def test_failing_after_hook_fails_the_run_but_keeps_the_committed_backup(
    memory_context: Context, memory_storage: MemoryStorage
) -> None:
    set_hooks(memory_context, after_backup=["sh -c 'exit 4'"])

    with pytest.raises(HookError, match="after_backup hook"):
        run_backup(memory_context)

    activity = memory_context.activities.find(job="backup")[0]
    assert activity.status == "failed"
    assert any(key.endswith("manifest.json") for key in memory_storage.objects)
    meta = BackupMeta.read(activity)
    assert meta.size_bytes
    assert [(hook.phase, hook.status) for hook in meta.hooks] == [("after_backup", "failed")]


def test_hook_running_past_its_timeout_is_killed_and_fails_the_backup(
    memory_context: Context,
) -> None:
    set_hooks(memory_context, before_backup=["sleep 30"], timeout_seconds=0.3)

    with pytest.raises(HookError):
        run_backup(memory_context)

    (hook,) = BackupMeta.read(memory_context.activities.find(job="backup")[0]).hooks
    assert hook.status == "failed"
    assert hook.duration_seconds < 10
