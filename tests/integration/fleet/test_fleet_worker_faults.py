"""The fleet when something fails under it: a worker killed or stopped mid-backup (another
worker finishes its job), the broker stopped and restarted under running workers.

(Split from test_fleet_runs.py, whose tests make no module fixtures either, so that
``--dist loadfile`` runs the two halves on two workers.)"""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
from pathlib import Path

import pytest
from fleet_processes import (
    RedisBroker,
    StateDatabase,
    Workers,
    make_sqlite_target,
    make_sqlite_targets,
    start_joining_submit,
    wait_until,
    write_config,
)

from cli_process import run_backproof

# Real worker processes: generous time on a busy 2-core machine (a run takes ~20 s idle).
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(400)]


def _backup_running_on_w1(
    tmp_path: Path,
    state_db: StateDatabase,
    redis_broker: RedisBroker,
    workers: Workers,
    queue_extra: str,
) -> tuple[Path, Path]:
    """Start worker w1, submit a backup that waits in its before-hook until the returned gate
    file exists, and return the config and the gate once the backup is running. (A backup of
    160 MB once ended before a test on a loaded machine saw it running.)"""
    gate = tmp_path / "gate"
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "a.bin").write_bytes(os.urandom(64 * 1024))
    hook = f"sh -c 'while [ ! -e {gate} ]; do sleep 0.05; done'"
    target = make_sqlite_target(tmp_path, "big") + (
        f'files = ["{uploads}"]\n[targets.hooks]\nbefore_backup = ["{hook}"]\n'
    )
    config = write_config(tmp_path, state_db.url, redis_broker.url, [target], queue_extra)
    workers.start("w1", "--concurrency", "1")
    workers.wait_ready(state_db, 1)
    assert run_backproof("--config", str(config), "submit", "backup", cwd=tmp_path).returncode == 0
    wait_until(
        lambda: state_db.rows(
            "SELECT id FROM ops_activities WHERE job = 'backup' AND status = 'running'"
        ),
        "the backup",
    )
    return config, gate


def test_a_worker_killed_mid_backup_has_its_job_finished_by_another_worker(
    tmp_path: Path, state_db: StateDatabase, redis_broker: RedisBroker, workers: Workers
) -> None:
    config, gate = _backup_running_on_w1(
        tmp_path, state_db, redis_broker, workers, "visibility_timeout_seconds = 10\n"
    )

    [abandoned] = workers.roots("w1")
    workers.kill("w1", signal.SIGKILL)
    workers.processes["w1"].wait(timeout=30)
    gate.touch()
    workers.start("w2", "--concurrency", "1")
    waited = run_backproof(
        "--config", str(config), "submit", "backup", "--wait", "--json", cwd=tmp_path, timeout=180
    )

    assert waited.returncode == 0, waited.stdout + waited.stderr
    [job] = json.loads(waited.stdout)["jobs"]
    assert job["new"] is False and job["steps"][0]["worker"] == "w2"
    rows = state_db.rows(
        "SELECT status, message FROM ops_activities WHERE job = 'backup' ORDER BY id"
    )
    assert [row[0] for row in rows] == ["failed", "success"]
    assert rows[0][1].startswith("stale:")
    listed = run_backproof("--config", str(config), "list", "--json", cwd=tmp_path)
    assert len(json.loads(listed.stdout)["backups"]) == 1
    # The killed worker's temporary folder (its backup's, its pool's) went at w2's start.
    assert not abandoned.exists()
    assert [path.name for path in workers.temporary.iterdir()] == [
        path.name for path in workers.roots("w2")
    ]


def test_sigterm_interrupts_a_long_job_after_the_grace_and_another_worker_does_it(
    tmp_path: Path, state_db: StateDatabase, redis_broker: RedisBroker, workers: Workers
) -> None:
    config, gate = _backup_running_on_w1(
        tmp_path, state_db, redis_broker, workers, "shutdown_grace_seconds = 0.2\n"
    )

    workers.processes["w1"].send_signal(signal.SIGTERM)
    workers.processes["w1"].wait(timeout=60)
    assert workers.roots("w1") == []  # its temporary folder went as it stopped
    gate.touch()
    # The user's `submit --wait` joins the interrupted job before w2 starts: started after it,
    # it could find the job already done again by w2 and queue a second one (a slow machine).
    waiting, joined = start_joining_submit(config, "backup")
    workers.start("w2", "--concurrency", "1")
    out, err = waiting.communicate(timeout=180)

    assert joined.startswith("already queued: backup of big"), joined + err
    assert waiting.returncode == 0, out + joined + err
    rows = state_db.rows(
        "SELECT status, message FROM ops_activities WHERE job = 'backup' ORDER BY id"
    )
    assert rows == [("failed", "interrupted (SIGINT or SIGTERM)"), (rows[1][0], rows[1][1])]
    assert rows[1][0] == "success"


# 6 s: longer than the few quick tries Celery gives the next step of a chain by default.
@pytest.mark.parametrize("outage_seconds", [0.0, 6.0])
def test_the_broker_stopped_and_restarted_mid_run_loses_no_job(
    tmp_path: Path,
    state_db: StateDatabase,
    redis_broker: RedisBroker,
    workers: Workers,
    outage_seconds: float,
) -> None:
    config = write_config(
        tmp_path, state_db.url, redis_broker.url, make_sqlite_targets(tmp_path, 8)
    )
    workers.start("w1", "--concurrency", "2")
    workers.wait_ready(state_db, 1)
    assert run_backproof("--config", str(config), "submit", "run", cwd=tmp_path).returncode == 0
    wait_until(
        lambda: state_db.rows("SELECT id FROM ops_queue WHERE status <> 'queued'"),
        "a worker to start a job",
    )

    redis_broker.stop()
    time.sleep(outage_seconds)
    redis_broker.start()
    waited = run_backproof(
        "--config", str(config), "submit", "run", "--wait", "--json", cwd=tmp_path, timeout=300
    )

    assert waited.returncode == 0, waited.stdout + waited.stderr
    jobs = json.loads(waited.stdout)["jobs"]
    assert len(jobs) == 8 and {job["status"] for job in jobs} == {"success"}


def test_a_worker_outlives_ten_broker_restarts_and_still_runs_jobs(
    tmp_path: Path, state_db: StateDatabase, redis_broker: RedisBroker, workers: Workers
) -> None:
    # Each restart lands at another moment of the worker's reconnect cycle; a consumer that
    # died while closing its channels after a lost connection (celery/kombu#582) used to end
    # the whole worker process.
    config = write_config(
        tmp_path, state_db.url, redis_broker.url, make_sqlite_targets(tmp_path, 1)
    )
    worker = workers.start("w1", "--concurrency", "1")
    workers.wait_ready(state_db, 1)
    # No auto-delete fanout queue (remote control, gossip) whose deletion could race.
    assert [key for key in redis_broker.keys("_kombu.binding.*") if b"pidbox" in key] == []

    for pause in itertools.islice(itertools.cycle([0.0, 0.3, 1.0, 2.5]), 10):
        redis_broker.stop()
        time.sleep(pause)
        redis_broker.start()
        time.sleep(pause)
        assert worker.poll() is None, (tmp_path / "w1.log").read_text(encoding="utf-8")[-3000:]
    done = run_backproof("--config", str(config), "submit", "run", "--wait", cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert worker.poll() is None
