"""What the fleet shows and how the service feeds it: queue and worker metrics, ``/api/queue``,
the dashboard's queued jobs, the scheduler's chains sent to the queue, web actions on workers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fleet_processes import (
    RedisBroker,
    StateDatabase,
    Workers,
    make_sqlite_target,
    wait_until,
    write_config,
)

from backproof.config.loading import load_settings
from backproof.fleet.submit import queue_daily_chain, submit_and_wait
from backproof.jobs.context import Context, open_context
from backproof.web.app import create_app
from backproof.web.documents import Documents
from cli_process import run_backproof

# Real worker processes: generous time on a busy 2-core machine (a run takes ~20 s idle).
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(400)]


def _get_json(app: Any, path: str) -> Any:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    return asyncio.run(call()).json()


@pytest.fixture
def config(tmp_path: Path, state_db: StateDatabase, redis_broker: RedisBroker) -> Path:
    """A fleet config of two small SQLite targets."""
    targets = [make_sqlite_target(tmp_path, name) for name in ("alpha", "beta")]
    return write_config(tmp_path, state_db.url, redis_broker.url, targets)


@pytest.fixture
def context(config: Path) -> Iterator[Context]:
    """A job context on the fleet config (as the service opens it)."""
    opened = open_context(load_settings(config))
    yield opened
    opened.activities.engine.dispose()


def test_metrics_count_queued_jobs_and_each_workers_heartbeat_age(
    config: Path, tmp_path: Path, state_db: StateDatabase, workers: Workers
) -> None:
    assert run_backproof("--config", str(config), "submit", "backup", cwd=tmp_path).returncode == 0

    queued = run_backproof("--config", str(config), "metrics", cwd=tmp_path).stdout
    workers.start("w1", "--concurrency", "1")
    workers.wait_ready(state_db, 1)
    beating = run_backproof("--config", str(config), "metrics", cwd=tmp_path).stdout

    assert 'crm_ops_queue_jobs{state="queued",step="backup"} 2.0' in queued
    age = re.search(
        r'crm_ops_worker_heartbeat_age_seconds\{host="[^"]+",worker="w1"\} (\S+)', beating
    )
    assert age is not None and 0 <= float(age.group(1)) < 30


def test_api_queue_and_the_dashboard_show_what_waits_for_a_worker(
    config: Path, tmp_path: Path, context: Context
) -> None:
    assert (
        run_backproof(
            "--config", str(config), "submit", "run", "--target", "beta", cwd=tmp_path
        ).returncode
        == 0
    )

    document = _get_json(create_app(context), "/api/queue")
    running = Documents(context).running("beta")

    assert document["configured"] is True
    assert [(job["job"], job["target"], job["status"]) for job in document["jobs"]] == [
        ("run", "beta", "queued")
    ]
    assert [(job.job, job.state) for job in running] == [("run", "queued")]


def test_the_scheduler_sends_a_due_chain_to_the_queue_and_retries_while_the_broker_is_down(
    context: Context, redis_broker: RedisBroker, state_db: StateDatabase
) -> None:
    redis_broker.stop()
    asked: list[bool] = []

    def stop_after_one_try() -> bool:
        asked.append(True)
        return len(asked) > 1

    queue_daily_chain(context, "alpha", stop_after_one_try)
    assert state_db.rows("SELECT id FROM ops_queue") == []

    redis_broker.start()
    queue_daily_chain(context, "alpha", lambda: False)
    assert [tuple(row) for row in state_db.rows("SELECT job, target, status FROM ops_queue")] == [
        ("run", "alpha", "queued")
    ]


def test_a_web_action_runs_on_a_worker_and_returns_when_it_is_done(
    context: Context, state_db: StateDatabase, workers: Workers
) -> None:
    workers.start("w1", "--concurrency", "1")
    workers.wait_ready(state_db, 1)

    entry = submit_and_wait(context, "backup", "alpha")

    assert entry.status == "success" and entry.result["steps"][0]["worker"] == "w1"
    wait_until(
        lambda: state_db.rows(
            "SELECT id FROM ops_activities WHERE job = 'backup' AND status = 'success'"
        ),
        "the row",
    )
