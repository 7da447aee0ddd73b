"""The Celery application of the fleet, built from ``[queue]``.

Settings chosen for jobs that must not be lost or doubled: a task is acknowledged only after it
ran (``task_acks_late``) and is given back to the broker when the worker process running it dies
(``task_reject_on_worker_lost``), so a worker killed with SIGKILL mid-backup has its job
delivered again; the next step of a chain is handed to the broker with retries that outlast a
broker restart; each worker process takes one task at a time (prefetch 1), so a long verify
never holds a backup hostage; Redis's visibility timeout is longer than the longest job; no
remote control, gossip or mingle, so a worker holds no auto-delete queue to lose in a broker
restart. Results are not stored by Celery: each step writes its outcome to the shared state
database.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from backproof.config.models import QueueSettings

STEP_TASK = "backproof.step"
# kombu's Redis transport whose put-back of taken jobs outlasts a broker restart.
REDIS_TRANSPORT = "backproof.fleet.redis_transport:Transport"
BROKER_CONNECT_TIMEOUT_SECONDS = 4.0
# A worker hands a chain's next step to the broker after the step ran: it keeps trying for about
# five minutes (0, 0.5, 1, 1.5, then every 2 s), so a broker restart mid-chain loses no step.
CHAIN_PUBLISH_RETRY_POLICY = {
    "max_retries": 150,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 2.0,
}
# `submit` gives up after a few quick tries: the broker down is one line in seconds.
SUBMIT_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}


def build_celery(queue: QueueSettings) -> Celery:
    """Return a Celery application on the configured broker (``broker_url`` must be set)."""
    if queue.broker_url is None:
        raise ValueError("build_celery needs [queue] broker_url")
    app = Celery("backproof", set_as_current=False)
    broker_url = queue.broker_url.get_secret_value()
    if is_plain_redis(queue):
        app.conf.broker_transport = REDIS_TRANSPORT
    app.conf.update(
        broker_url=broker_url,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_connection_timeout=BROKER_CONNECT_TIMEOUT_SECONDS,
        broker_transport_options=_transport_options(queue),
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        task_publish_retry_policy=CHAIN_PUBLISH_RETRY_POLICY,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=queue.backup_queue,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # No remote control: its per-worker queue is an auto-delete fanout binding, and kombu's
        # Redis channel deleting it while the consumer closes a lost connection raises
        # AttributeError (celery/kombu#582), which ends the whole worker on a broker restart.
        # Workers are seen through their ops_workers heartbeats and stopped with SIGTERM.
        worker_enable_remote_control=False,
        enable_utc=True,
    )
    return app


def is_plain_redis(queue: QueueSettings) -> bool:
    """Return True for a ``redis://`` broker (the one our transport of ``redis_transport``
    serves; ``rediss://`` keeps kombu's own, with its TLS handling)."""
    return queue.broker_url is not None and queue.broker_url.get_secret_value().startswith(
        "redis://"
    )


def queue_of(queue: QueueSettings, job: str) -> str:
    """Return the queue a job of this name is sent to."""
    if job == "verify":
        return queue.verify_queue
    if job in ("report", "health"):
        return queue.report_queue
    return queue.backup_queue


def all_queues(queue: QueueSettings) -> list[str]:
    """Return every configured queue, once each."""
    return sorted({queue.backup_queue, queue.verify_queue, queue.report_queue})


def _transport_options(queue: QueueSettings) -> dict[str, Any]:
    return {
        "visibility_timeout": queue.visibility_timeout_seconds,
        # Redis: how often a worker looks for jobs whose worker died (past the visibility
        # timeout) and delivers them again; kombu's default looks only every ~100 s.
        "unacked_restore_interval": min(60.0, max(1.0, queue.visibility_timeout_seconds / 4)),
        "unacked_restore_throttle": 1,
        # Publishing gives up after a few quick tries, so that `submit` with the broker down
        # fails in seconds with one line instead of hanging.
        "max_retries": 2,
        "interval_start": 0,
        "interval_step": 0.5,
        "interval_max": 1,
    }
