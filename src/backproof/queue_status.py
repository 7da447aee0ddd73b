"""What the fleet shows an operator: jobs queued and running per job, and each worker's last
heartbeat — as Prometheus metrics and as the ``queue`` part of ``/api/status``.

Read from the shared state database, so that any host (the service, a worker) sees every worker.
Never imports Celery.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from pydantic import BaseModel, Field

from backproof.state.queue import UNFINISHED, JobQueueLog

JOB_LABELS = ("run", "backup", "cleanup", "verify", "report", "health")


def collect_fleet_metrics(log: JobQueueLog, prefix: str, now: datetime) -> Iterator[Metric]:
    """Yield the queue depth by state and job, and the heartbeat age of every live worker."""
    jobs = GaugeMetricFamily(
        prefix + "queue_jobs",
        "Submitted jobs waiting for a worker (queued) or being run (running), by job.",
        labels=["state", "step"],
    )
    counts = log.count_unfinished()
    for state in UNFINISHED:
        for job in JOB_LABELS:
            jobs.add_metric([state, job], float(counts.get((state, job), 0)))
    yield jobs
    age = GaugeMetricFamily(
        prefix + "worker_heartbeat_age_seconds",
        "Seconds since each running worker last said it lives.",
        labels=["worker", "host"],
    )
    for worker in log.workers():
        age.add_metric([worker.name, worker.host], (now - worker.heartbeat_at).total_seconds())
    yield age


class QueuedJob(BaseModel):
    """One submission that a worker has not finished yet."""

    id: str
    job: str = Field(description="run (the chain), backup, cleanup, verify, report or health")
    target: str
    status: str = Field(description="queued or running")
    step: str | None = Field(description="the job of the chain running now")
    worker: str | None = Field(description="the worker running it")
    queued_at: str | None = Field(description="ISO 8601 in UTC with an offset")
    started_at: str | None = Field(description="ISO 8601 in UTC with an offset")


class Worker(BaseModel):
    """One running worker and its last heartbeat."""

    name: str
    host: str
    queues: list[str]
    concurrency: int
    heartbeat_at: str | None = Field(description="ISO 8601 in UTC with an offset")


class QueueDocument(BaseModel):
    """What the fleet's workers are doing (``[queue]`` configured), or nothing."""

    configured: bool
    jobs: list[QueuedJob]
    workers: list[Worker]


def build_queue_document(log: JobQueueLog | None) -> QueueDocument:
    """Return the unfinished submissions and live workers (empty without a queue)."""
    if log is None:
        return QueueDocument(configured=False, jobs=[], workers=[])
    jobs = [QueuedJob.model_validate(entry.to_json()) for entry in log.unfinished()]
    workers = [Worker.model_validate(worker.to_json()) for worker in log.workers()]
    return QueueDocument(configured=True, jobs=jobs, workers=workers)
