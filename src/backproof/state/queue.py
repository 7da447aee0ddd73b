"""The fleet's state (issue 15): ``ops_queue`` (what was sent to the workers and how it ended)
and ``ops_workers`` (who works, and when each last said it lives).

The queue rows live in the state database every host shares, so any host can answer "what is
queued, what runs where" and ``submit --wait`` reads the outcome without a result backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from backproof.clock import isoformat, utc_now
from backproof.state.schema import ops_queue, ops_workers

UNFINISHED = ("queued", "running")
# How a submission ended, by its exit code: 2 is a configuration error, where nothing ran.
QUEUE_STATUS_BY_EXIT_CODE = {0: "success", 2: "refused"}


@dataclass(frozen=True)
class QueueEntry:
    """One submission: a job (or the chain ``run``) of one target, sent to the workers."""

    id: str
    job: str
    target: str
    status: str
    queued_at: datetime
    step: str | None = None
    worker: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def is_finished(self) -> bool:
        """Return True once the workers are done with it."""
        return self.status not in UNFINISHED

    def to_json(self) -> dict[str, Any]:
        """Return the entry as in ``submit --json`` and the status API."""
        return {
            "id": self.id,
            "job": self.job,
            "target": self.target,
            "status": self.status,
            "step": self.step,
            "worker": self.worker,
            "queued_at": isoformat(self.queued_at),
            "started_at": isoformat(self.started_at),
            "finished_at": isoformat(self.finished_at),
            "exit_code": self.exit_code,
            "steps": list(self.result.get("steps", [])),
        }


@dataclass(frozen=True)
class WorkerRow:
    """One worker process and its last heartbeat."""

    name: str
    host: str
    pid: int
    queues: str
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """Return the worker as in the status API."""
        return {
            "name": self.name,
            "host": self.host,
            "pid": self.pid,
            "queues": self.queues.split(","),
            "concurrency": self.concurrency,
            "started_at": isoformat(self.started_at),
            "heartbeat_at": isoformat(self.heartbeat_at),
            "stopped_at": isoformat(self.stopped_at),
        }


class JobQueueLog:
    """Reads and writes ``ops_queue`` and ``ops_workers``; the only code that does."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def enqueue(self, job: str, target: str) -> tuple[QueueEntry, bool]:
        """Insert a ``queued`` entry; return it and True, or the pending one of the same job and
        target and False (a target never queues the same job twice)."""
        entry_id = str(uuid.uuid4())
        values = {
            "id": entry_id,
            "job": job,
            "target": target,
            "status": "queued",
            "pending_key": f"{job}:{target}",
            "queued_at": self.clock(),
            "result": {"steps": []},
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.insert(ops_queue).values(**values))
        except sa.exc.IntegrityError:
            pending = self.pending(job, target)
            if pending is None:  # finished between the insert and the read: queue it now
                return self.enqueue(job, target)
            return pending, False
        return self.get(entry_id), True

    def forget(self, entry_id: str) -> None:
        """Delete an entry whose message never reached the broker."""
        with self.engine.begin() as connection:
            connection.execute(sa.delete(ops_queue).where(ops_queue.c.id == entry_id))

    def mark_step(self, entry_id: str, step: str, worker: str) -> None:
        """Record that ``worker`` started ``step`` of the entry."""
        statement = sa.update(ops_queue).where(ops_queue.c.id == entry_id)
        values: dict[str, Any] = {"status": "running", "step": step, "worker": worker}
        with self.engine.begin() as connection:
            connection.execute(statement.values(**values))
            connection.execute(
                statement.where(ops_queue.c.started_at.is_(None)).values(started_at=self.clock())
            )

    def record_steps(self, entry_id: str, steps: list[dict[str, Any]]) -> None:
        """Store the outcomes of the steps done so far."""
        statement = sa.update(ops_queue).where(ops_queue.c.id == entry_id)
        with self.engine.begin() as connection:
            connection.execute(statement.values(result={"steps": steps}))

    def finish(self, entry_id: str, steps: list[dict[str, Any]], exit_code: int) -> None:
        """Finish the entry with its steps and exit code; the same job may be queued again."""
        values = {
            "status": QUEUE_STATUS_BY_EXIT_CODE.get(exit_code, "failed"),
            "pending_key": None,
            "step": None,
            "finished_at": self.clock(),
            "exit_code": exit_code,
            "result": {"steps": steps},
        }
        statement = sa.update(ops_queue).where(ops_queue.c.id == entry_id)
        with self.engine.begin() as connection:
            connection.execute(statement.values(**values))

    def get(self, entry_id: str) -> QueueEntry:
        """Return one entry; KeyError when there is none."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(ops_queue).where(ops_queue.c.id == entry_id)).first()
        if row is None:
            raise KeyError(entry_id)
        return _to_entry(row)

    def pending(self, job: str, target: str) -> QueueEntry | None:
        """Return the queued or running entry of ``job`` on ``target``, if any."""
        statement = sa.select(ops_queue).where(ops_queue.c.pending_key == f"{job}:{target}")
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        return None if row is None else _to_entry(row)

    def unfinished(self, limit: int = 1000) -> list[QueueEntry]:
        """Return the queued and running entries, oldest first."""
        statement = (
            sa.select(ops_queue)
            .where(ops_queue.c.status.in_(UNFINISHED))
            .order_by(ops_queue.c.queued_at)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [_to_entry(row) for row in connection.execute(statement)]

    def count_unfinished(self) -> dict[tuple[str, str], int]:
        """Return how many entries are queued or running, by (status, job)."""
        statement = (
            sa.select(ops_queue.c.status, ops_queue.c.job, sa.func.count())
            .where(ops_queue.c.status.in_(UNFINISHED))
            .group_by(ops_queue.c.status, ops_queue.c.job)
        )
        with self.engine.connect() as connection:
            return {(row[0], row[1]): int(row[2]) for row in connection.execute(statement)}

    def beat(self, worker: WorkerRow) -> None:
        """Insert or refresh a worker's row with a heartbeat now."""
        values = {**worker.__dict__, "heartbeat_at": self.clock()}
        with self.engine.begin() as connection:
            updated = connection.execute(
                sa.update(ops_workers).where(ops_workers.c.name == worker.name).values(**values)
            )
            if updated.rowcount == 0:
                connection.execute(sa.insert(ops_workers).values(**values))

    def stop_worker(self, name: str) -> None:
        """Record that a worker stopped."""
        statement = sa.update(ops_workers).where(ops_workers.c.name == name)
        with self.engine.begin() as connection:
            connection.execute(statement.values(stopped_at=self.clock()))

    def workers(self) -> list[WorkerRow]:
        """Return every worker that has not said it stopped, by name."""
        statement = (
            sa.select(ops_workers)
            .where(ops_workers.c.stopped_at.is_(None))
            .order_by(ops_workers.c.name)
        )
        with self.engine.connect() as connection:
            return [WorkerRow(**row._mapping) for row in connection.execute(statement)]


def _to_entry(row: sa.Row[Any]) -> QueueEntry:
    values = dict(row._mapping)
    values.pop("pending_key")
    values["result"] = dict(values["result"] or {})
    return QueueEntry(**values)
