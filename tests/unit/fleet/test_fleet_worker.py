"""The worker's step task under at-least-once delivery: a step delivered again after it ran is
not run twice, and a step that raised finishes its submission instead of leaving it waiting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from kombu.exceptions import OperationalError

from backproof.config.models import Settings
from backproof.fleet import worker
from backproof.fleet.worker import StepTask, WorkerRuntime, step_task
from backproof.state.queue import JobQueueLog

DONE_BACKUP = {
    "job": "backup",
    "status": "success",
    "exit_code": 0,
    "line": "✓ backup",
    "worker": "w1",
}


@pytest.fixture
def runtime(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkerRuntime]:
    """This process as the pool process of a worker called w1."""
    runtime = WorkerRuntime(settings, "w1", ["backproof"], 1, datetime.now(UTC))
    monkeypatch.setattr(worker, "_RUNTIME", runtime)
    yield runtime
    for context, _log in runtime._opened.values():
        context.activities.engine.dispose()


def _run_whose_backup_ran(runtime: WorkerRuntime) -> tuple[JobQueueLog, str]:
    """Queue ``run`` of crm and record its backup step as done; return the log and entry id."""
    log = runtime.open()[1]
    entry, _ = log.enqueue("run", "crm")
    log.record_steps(entry.id, [DONE_BACKUP])
    return log, entry.id


def test_a_step_delivered_again_after_it_ran_is_skipped_and_hands_on_nothing(
    runtime: WorkerRuntime,
) -> None:
    log, entry_id = _run_whose_backup_ran(runtime)
    task: Any = SimpleNamespace(request=SimpleNamespace(chain=[{"task": "backproof.step"}]))

    steps = step_task(task, [], "backup", "crm", entry_id, "run")

    assert steps == [DONE_BACKUP]
    assert task.request.chain is None
    assert runtime.open()[0].activities.find() == []
    assert log.get(entry_id).status == "queued"


def test_a_step_of_a_finished_submission_is_skipped(runtime: WorkerRuntime) -> None:
    log = runtime.open()[1]
    entry, _ = log.enqueue("verify", "crm")
    log.finish(entry.id, [{**DONE_BACKUP, "job": "verify"}], 0)
    task: Any = SimpleNamespace(request=SimpleNamespace(chain=None))

    step_task(task, [], "verify", "crm", entry.id, "verify")

    assert runtime.open()[0].activities.find() == []
    assert log.get(entry.id).status == "success"


def test_a_step_that_raised_finishes_its_submission_as_failed_in_one_line(
    runtime: WorkerRuntime,
) -> None:
    log, entry_id = _run_whose_backup_ran(runtime)
    error = OperationalError("Error 111 connecting to 127.0.0.1:6379.\nConnection refused.")

    # The backup ran and was recorded; handing on its cleanup found no broker.
    StepTask().on_failure(error, "task-id", ([], "backup", "crm", entry_id, "run"), {}, None)

    finished = log.get(entry_id)
    assert (finished.is_finished, finished.exit_code) == (True, 1)
    [backup, cleanup] = finished.result["steps"]
    assert backup == DONE_BACKUP
    assert cleanup == {
        "job": "cleanup",
        "status": "failed",
        "exit_code": 1,
        "line": "✗ cleanup of crm not started: it could not be queued (OperationalError: Error "
        "111 connecting to 127.0.0.1:6379. Connection refused.)",
    }
    assert log.enqueue("run", "crm")[1] is True  # the same job may be queued again


def test_a_step_that_raised_before_it_ran_is_recorded_as_failed_on_its_worker(
    runtime: WorkerRuntime,
) -> None:
    log = runtime.open()[1]
    entry, _ = log.enqueue("run", "crm")

    StepTask().on_failure(
        RuntimeError("state database gone"),
        "task-id",
        ([], "backup", "crm", entry.id, "run"),
        {},
        None,
    )

    finished = log.get(entry.id)
    assert finished.exit_code == 1
    assert [step["line"] for step in finished.result["steps"]] == [
        "✗ backup of crm failed on worker w1: RuntimeError: state database gone"
    ]
