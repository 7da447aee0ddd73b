"""A storm of failures from two processes at once gives one message per event key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alert_receivers import WebhookReceiver

from backproof.config.models import Settings
from backproof.demo import DemoLayout
from backproof.jobs.context import open_context
from backproof.state.alerts import AlertStore

WORKER = Path(__file__).with_name("storm_worker.py")
FAILURES_PER_PROCESS = 50


def run_storm(demo: DemoLayout, webhook: WebhookReceiver, mode: str) -> None:
    """Start two workers, let them go at once, wait for both."""
    command = [sys.executable, str(WORKER), str(demo.config), webhook.url()]
    workers = [
        subprocess.Popen(
            [*command, str(FAILURES_PER_PROCESS), mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=demo.folder,
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "ready":
                _, stderr = worker.communicate(timeout=30)
                pytest.fail(f"a storm worker ended before it was ready:\n{stderr}")
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            _, stderr = worker.communicate(timeout=90)
            assert worker.returncode == 0, stderr
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.communicate()  # reaps it and closes its pipes


@pytest.mark.parametrize("mode", ["jobs", "dispatch"])
def test_storm_of_100_failures_from_two_processes_sends_one_message(
    demo: DemoLayout, settings: Settings, webhook: WebhookReceiver, mode: str
) -> None:
    run_storm(demo, webhook, mode)

    assert [text.split(" ```", 1)[0] for text in webhook.texts()] == ["[OPS] backup of crm failed"]
    context = open_context(settings)
    try:
        failed = context.activities.find(job="backup", statuses=["failed"], limit=None)
        assert len(failed) == 2 * FAILURES_PER_PROCESS
        assert context.activities.find(job="alert", statuses=["failed"]) == []
        row = AlertStore(context.activities.engine).get("backup_failed:crm")
        assert row is not None and row.pending is not None
        # Claims that lost a race to the other process are not counted, so at most 99.
        assert 0 < row.suppressed_count <= 2 * FAILURES_PER_PROCESS - 1
    finally:
        context.activities.engine.dispose()
