"""Hook commands around a backup: ``[targets.hooks] before_backup`` and ``after_backup``.

Before-hooks run in order before anything is dumped; the first that fails (exit code, timeout,
missing program) fails the backup. After-hooks run once the before-hooks were tried, whatever
became of the backup, so that a maintenance mode switched on is switched off again; one that
fails fails a backup that otherwise succeeded (the backup stays committed and listed). Each run
is recorded in the backup's activity: the command, how it ended, its duration, the tail of its
output, masked.
"""

from __future__ import annotations

import contextlib
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager

from backproof.config.models import HookSettings
from backproof.errors import HookError, PipelineError
from backproof.masking import mask_text
from backproof.process.commands import Command
from backproof.process.pipeline import run_command
from backproof.state.records import HookRecord

OUTPUT_TAIL_CHARACTERS = 2000


@contextmanager
def backup_hooks(settings: HookSettings, records: list[HookRecord]) -> Iterator[None]:
    """Run the before-hooks, the block, then the after-hooks; append every run to ``records``.

    Raises HookError when a before-hook fails (the block does not run) or when an after-hook
    fails after a block that succeeded; an error of the block itself is never hidden.
    """
    try:
        run_hooks("before_backup", settings.before_backup, settings, records)
        yield
    except BaseException:
        # Recorded; the error that ended the backup is the one to report.
        with contextlib.suppress(HookError):
            run_hooks("after_backup", settings.after_backup, settings, records)
        raise
    run_hooks("after_backup", settings.after_backup, settings, records)


def run_hooks(
    phase: str, command_lines: list[str], settings: HookSettings, records: list[HookRecord]
) -> None:
    """Run each command line of ``phase`` in order; record each; raise HookError at the first
    failure."""
    for line in command_lines:
        started = time.monotonic()
        try:
            command = Command(
                name=f"{phase} hook", argv=tuple(shlex.split(line)), cwd=_cwd(settings)
            )
            output, status, error = (
                run_command(command, timeout_seconds=settings.timeout_seconds),
                "success",
                None,
            )
        except (PipelineError, ValueError) as exc:
            output, status, error = str(exc), "failed", exc
        records.append(
            HookRecord(
                phase=phase,
                command=mask_text(line),
                status=status,
                duration_seconds=round(time.monotonic() - started, 3),
                output=mask_text(output)[-OUTPUT_TAIL_CHARACTERS:],
            )
        )
        if error is not None:
            raise HookError(
                f"{phase} hook `{mask_text(line)}` failed: {mask_text(str(error))}"
            ) from error


def _cwd(settings: HookSettings) -> str | None:
    return None if settings.cwd is None else str(settings.cwd)
