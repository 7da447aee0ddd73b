"""``backproof worker``: a Celery worker that runs the steps of submissions.

The worker uses its own configuration (its secrets and paths); a message carries only the job,
the target and the submission's id. Each pool process opens its own state and storage
connections after the fork. The main process writes a heartbeat row every
``queue.heartbeat_seconds``. On SIGTERM the worker stops taking jobs and lets the running ones
finish for ``queue.shutdown_grace_seconds``; then it interrupts them: each job finishes its audit
row as interrupted and its message goes back to the broker, so another worker does it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from celery import Celery, Task, signals

from backproof.after_run import after_run_hooks, chain_hooks
from backproof.config.models import Settings
from backproof.fleet.app import STEP_TASK, build_celery, is_plain_redis
from backproof.fleet.redis_transport import reclaim_orphans
from backproof.fleet.steps import StepRecord, exit_code_of, run_step, steps_of
from backproof.jobs.context import ChainOutcome, Context, open_context, open_state
from backproof.jobs.lifecycle import call_chain_finished, call_chain_started
from backproof.state.queue import JobQueueLog, WorkerRow

logger = logging.getLogger(__name__)


@dataclass
class WorkerRuntime:
    """This process's worker: its settings and name, and the connections of this process."""

    settings: Settings
    name: str
    queues: list[str]
    concurrency: int
    started_at: datetime
    _opened: dict[int, tuple[Context, JobQueueLog]] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    def open(self) -> tuple[Context, JobQueueLog]:
        """Return this process's context and queue log, opened once per process."""
        pid = os.getpid()
        if pid not in self._opened:
            self._opened.clear()  # those of the parent, before the fork: never used here
            context = open_context(
                self.settings, after_run=after_run_hooks(self.settings), around_chain=chain_hooks()
            )
            self._opened[pid] = (context, JobQueueLog(context.activities.engine))
        return self._opened[pid]

    def row(self) -> WorkerRow:
        """Return this worker's row of ``ops_workers``."""
        now = self.started_at
        return WorkerRow(
            self.name,
            socket.gethostname(),
            os.getpid(),
            ",".join(self.queues),
            self.concurrency,
            now,
            now,
            None,
        )


_RUNTIME: WorkerRuntime | None = None


def run_worker(settings: Settings, concurrency: int, queues: list[str], name: str) -> None:
    """Run the worker in this process until it is stopped."""
    global _RUNTIME  # noqa: PLW0603 - the one worker of this process, inherited by its pool
    engine = open_state(settings)  # migrated here, once, before the pool forks
    _RUNTIME = WorkerRuntime(settings, name, queues, concurrency, JobQueueLog(engine).clock())
    engine.dispose()  # no connection of the parent is inherited by the pool
    app = build_celery(settings.queue)
    app.task(name=STEP_TASK, bind=True, base=StepTask)(step_task)
    _connect_signals(app)
    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--queues={','.join(queues)}",
            f"--hostname={name}",
            "--loglevel=INFO",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
        ]
    )


class StepTask(Task):  # type: ignore[type-arg]
    """The step task's class: a step that raised instead of returning its record (most often:
    the step ran, but the broker stayed unreachable while its next step was handed on) finishes
    its submission as failed, with one line, so that nobody waits for it forever."""

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        previous, job, target, entry_id, submitted_job = args[:5]
        try:
            _, log = _current_runtime().open()
            entry = log.get(entry_id)
            if entry.is_finished:
                return
            steps = [*entry.result.get("steps", previous)]
            error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
            if any(step["job"] == job for step in steps):  # it ran; its next one was not sent
                jobs = steps_of(submitted_job)
                job = jobs[jobs.index(job) + 1]
                line = f"✗ {job} of {target} not started: it could not be queued ({error})"
            else:
                line = f"✗ {job} of {target} failed on worker {_current_runtime().name}: {error}"
            steps.append({"job": job, "status": "failed", "exit_code": 1, "line": line})
            log.finish(entry_id, steps, 1)
        except Exception:  # the state database down too: the worker log keeps the story
            logger.exception("submission %s of %s not finished as failed", entry_id, target)


def step_task(
    task: Task[Any, Any],
    previous: list[StepRecord],
    job: str,
    target: str,
    entry_id: str,
    submitted_job: str,
    backup_id: str | None = None,
) -> list[StepRecord]:
    """The Celery task: run one step of a submission and record it in ``ops_queue``."""
    runtime = _current_runtime()
    context, log = runtime.open()
    jobs = steps_of(submitted_job)
    entry = log.get(entry_id)
    done = entry.result.get("steps", [])
    if entry.is_finished or any(step["job"] == job for step in done):
        # At-least-once delivery: a message delivered again (a broker restart while the step's
        # acknowledgement was in flight) must not run a backup twice.
        # Its next step was handed on by the first delivery: this one hands on nothing.
        logger.warning("%s of %s (%s) is already done: skipped", job, target, entry_id)
        task.request.chain = None
        return list(done)
    log.mark_step(entry_id, job, runtime.name)
    if submitted_job == "run" and job == jobs[0]:
        call_chain_started(context, target)
    # A SIGTERM past the grace period raises SystemExit here: the job finishes its row as
    # interrupted, the pool process ends, and Celery gives the message back to the broker.
    record = run_step(context, job, target, previous, backup_id)
    steps = [*previous, {**record, "worker": runtime.name}]
    if job != jobs[-1]:
        log.record_steps(entry_id, steps)
        return steps
    exit_code = exit_code_of(steps)
    log.finish(entry_id, steps, exit_code)
    if submitted_job == "run":
        summary = "\n".join([f"backproof run of {target}", *_lines(steps)])
        call_chain_finished(context, ChainOutcome(target, exit_code == 0, summary))
    return steps


def _lines(steps: list[StepRecord]) -> list[str]:
    return [str(step["line"]) for step in steps]


def _current_runtime() -> WorkerRuntime:
    if _RUNTIME is None:
        raise RuntimeError("the step task runs only in `backproof worker`")
    return _RUNTIME


def _connect_signals(app: Celery) -> None:
    signals.worker_ready.connect(_on_ready, weak=False)
    signals.worker_shutting_down.connect(_on_shutting_down, weak=False)
    signals.worker_shutdown.connect(_on_shutdown, weak=False)


def _on_ready(**_kwargs: Any) -> None:
    runtime = _current_runtime()
    thread = threading.Thread(target=_beat, args=(runtime,), name="heartbeat", daemon=True)
    thread.start()


def _beat(runtime: WorkerRuntime) -> None:
    log = JobQueueLog(open_state(runtime.settings))
    row = runtime.row()
    broker = (
        build_celery(runtime.settings.queue) if is_plain_redis(runtime.settings.queue) else None
    )
    while not runtime.stopping.is_set():
        try:
            log.beat(row)
        except Exception:  # a state database that is down must not stop the worker
            logger.warning("heartbeat of %s not recorded", runtime.name, exc_info=True)
        if broker is not None:
            _reclaim_orphans(broker, log)
        runtime.stopping.wait(runtime.settings.queue.heartbeat_seconds)


def _reclaim_orphans(broker: Celery, log: JobQueueLog) -> None:
    """Put back the jobs taken and lost in a Redis outage (``redis_transport``)."""
    try:
        with broker.connection_for_write() as connection:
            reclaim_orphans(connection, lambda arguments: _is_waited_for(log, arguments))
    except Exception:  # a broker or state database that is down: the next beat tries again
        logger.debug("lost jobs not looked for", exc_info=True)


def _is_waited_for(log: JobQueueLog, arguments: list[Any]) -> bool:
    """True when the step these task arguments name is neither done nor running while its
    submission waits for it."""
    if len(arguments) < 5:
        return False
    job, entry_id = arguments[1], str(arguments[3])
    try:
        entry = log.get(entry_id)
    except KeyError:
        return False
    if entry.is_finished or any(step["job"] == job for step in entry.result.get("steps", [])):
        return False
    return not (entry.status == "running" and entry.step == job)


def _on_shutting_down(how: str = "", **_kwargs: Any) -> None:
    runtime = _current_runtime()
    if how != "Warm":
        return
    grace = runtime.settings.queue.shutdown_grace_seconds
    logger.info("stopping: running jobs have %g s to finish", grace)
    timer = threading.Timer(grace, _interrupt_pool_processes)
    timer.daemon = True
    timer.start()


def _on_shutdown(**_kwargs: Any) -> None:
    runtime = _current_runtime()
    runtime.stopping.set()
    JobQueueLog(open_state(runtime.settings)).stop_worker(runtime.name)


def _interrupt_pool_processes() -> None:
    """Send SIGTERM to every child of this process (the pool): billiard raises SystemExit in
    the job, which finishes its row as interrupted; the pool process ends, and Celery gives its
    message back to the broker (``task_reject_on_worker_lost``)."""
    for pid in _children(os.getpid()):
        logger.warning("grace period over: interrupting pool process %s", pid)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task_dir in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task_dir / "children").read_text().split()]
        except OSError:
            continue
    return children
