"""The fleet as a user runs it: ``backproof worker`` processes on a real broker, a shared
PostgreSQL state database, and ``backproof submit``."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from alert_receivers import WebhookReceiver
from fleet_processes import (
    RedisBroker,
    StateDatabase,
    Workers,
    make_postgresql_target,
    make_sqlite_targets,
    rabbitmq_vhost,
    write_config,
)

from cli_process import run_backproof

# Real worker processes: generous time on a busy 2-core machine (a run takes ~20 s idle).
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(400)]


def _runs_by_target(state: StateDatabase) -> dict[str, list[tuple[object, object]]]:
    runs: dict[str, list[tuple[object, object]]] = defaultdict(list)
    rows = state.rows(
        "SELECT target, started_at, finished_at FROM ops_activities "
        "WHERE target IS NOT NULL ORDER BY target, started_at"
    )
    for target, started_at, finished_at in rows:
        runs[target].append((started_at, finished_at))
    return runs


def _most_at_once(intervals: list[tuple[datetime, datetime]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _time, change in events:
        running += change
        most = max(most, running)
    return most


def test_submit_run_all_wait_proves_every_target_on_three_workers_without_overlap(
    tmp_path: Path, state_db: StateDatabase, redis_broker: RedisBroker, workers: Workers
) -> None:
    postgresql = [make_postgresql_target(state_db, f"pg{index}") for index in range(4)]
    targets = make_sqlite_targets(tmp_path, 26) + postgresql
    config = write_config(
        tmp_path, state_db.url, redis_broker.url, targets, "verifies_per_server = 2\n"
    )
    for name in ("w1", "w2", "w3"):
        workers.start(name, "--concurrency", "1")
    workers.wait_ready(state_db, 3)

    done = run_backproof(
        "--config",
        str(config),
        "submit",
        "run",
        "--all",
        "--wait",
        "--json",
        cwd=tmp_path,
        timeout=600,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    jobs = json.loads(done.stdout)["jobs"]
    assert len(jobs) == 30
    assert {job["status"] for job in jobs} == {"success"}
    verified = state_db.rows(
        "SELECT DISTINCT target FROM ops_activities WHERE job = 'verify' AND status = 'success'"
    )
    assert len(verified) == 30
    for target, runs in _runs_by_target(state_db).items():
        for (_start, previous_end), (next_start, _end) in itertools.pairwise(runs):
            assert next_start >= previous_end, f"two runs of {target} overlapped"
    step_workers = {step["worker"] for job in jobs for step in job["steps"]}
    assert step_workers == {"w1", "w2", "w3"}
    pg_verifies = state_db.rows(
        "SELECT started_at, finished_at FROM ops_activities "
        "WHERE job = 'verify' AND target LIKE 'pg%'"
    )
    assert len(pg_verifies) == 4
    assert _most_at_once([(row[0], row[1]) for row in pg_verifies]) <= 2


def test_a_run_on_a_worker_pings_the_dead_mans_switch_with_its_outcome(
    tmp_path: Path, state_db: StateDatabase, redis_broker: RedisBroker, workers: Workers
) -> None:
    receiver = WebhookReceiver().start()
    try:
        config = write_config(
            tmp_path, state_db.url, redis_broker.url, make_sqlite_targets(tmp_path, 1)
        )
        with config.open("a", encoding="utf-8") as text:
            text.write(f'\n[alerts]\nhealthcheck_url = "{receiver.url("/ping/fleet")}"\n')
        workers.start("w1", "--concurrency", "1")
        workers.wait_ready(state_db, 1)

        done = run_backproof(
            "--config", str(config), "submit", "run", "--wait", cwd=tmp_path, timeout=300
        )

        assert done.returncode == 0, done.stdout + done.stderr
        assert [request.path for request in receiver.requests] == [
            "/ping/fleet/start",
            "/ping/fleet",
        ]
        assert receiver.requests[-1].body.startswith(b"backproof run of shop000")
    finally:
        receiver.stop()


def test_submit_twice_queues_the_same_job_of_a_target_once(
    tmp_path: Path, state_db: StateDatabase, redis_broker: RedisBroker
) -> None:
    config = write_config(
        tmp_path, state_db.url, redis_broker.url, make_sqlite_targets(tmp_path, 1)
    )

    first = run_backproof("--config", str(config), "submit", "backup", cwd=tmp_path)
    second = run_backproof("--config", str(config), "submit", "backup", cwd=tmp_path)

    assert first.returncode == 0 and first.stdout.startswith("queued backup of shop000")
    assert second.returncode == 0 and second.stdout.startswith("already queued: backup of shop000")
    assert len(state_db.rows("SELECT id FROM ops_queue")) == 1


def test_submit_with_the_broker_down_fails_in_one_line_and_queues_nothing(
    tmp_path: Path, state_db: StateDatabase, redis_broker: RedisBroker
) -> None:
    config = write_config(
        tmp_path, state_db.url, redis_broker.url, make_sqlite_targets(tmp_path, 1)
    )
    redis_broker.stop()

    done = run_backproof("--config", str(config), "submit", "run", cwd=tmp_path)

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    # A broker URL's password is a secret masked by value; its address is said.
    assert f"cannot queue run of shop000: the broker {redis_broker.url} is not" in done.stderr
    assert "is not reachable" in done.stderr and "Connection refused" in done.stderr
    assert state_db.rows("SELECT id FROM ops_queue") == []


def test_a_queue_with_a_sqlite_state_database_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'state.db'}",
        "redis://127.0.0.1:1/0",
        make_sqlite_targets(tmp_path, 1),
    )

    done = run_backproof("--config", str(config), "submit", "run", cwd=tmp_path)

    assert done.returncode == 2
    assert "[queue] needs a state database every worker shares" in done.stderr


def test_submit_run_wait_proves_every_target_over_rabbitmq(
    tmp_path: Path, state_db: StateDatabase, workers: Workers
) -> None:
    vhosts = rabbitmq_vhost()
    broker_url = next(vhosts)
    try:
        config = write_config(tmp_path, state_db.url, broker_url, make_sqlite_targets(tmp_path, 5))
        workers.start("w1", "--concurrency", "2")
        workers.start("w2", "--concurrency", "1")
        workers.wait_ready(state_db, 2)

        done = run_backproof(
            "--config", str(config), "submit", "run", "--all", "--wait", cwd=tmp_path, timeout=300
        )

        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.count("✓ verify passed") == 5
    finally:
        workers.stop_all()
        vhosts.close()
