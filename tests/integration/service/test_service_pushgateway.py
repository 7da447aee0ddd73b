"""Each job pushes the metrics to a real pushgateway when it ends; a dead one never fails it."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable

import httpx
from service_processes import free_port

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def test_a_backup_pushes_the_metrics_to_the_pushgateway(
    run_cli: CliRunner, pushgateway: str
) -> None:
    result = run_cli("backup", env={"BACKPROOF_METRICS__PUSHGATEWAY": pushgateway})

    assert result.returncode == 0, result.stderr
    exposed = httpx.get(pushgateway + "/metrics", timeout=5).text
    instance = socket.gethostname()
    line = next(
        line
        for line in exposed.splitlines()
        if line.startswith("crm_ops_last_db_dump_age_minutes{")
    )
    assert f'instance="{instance}"' in line
    assert 'job="backproof"' in line
    assert 'target="crm"' in line
    assert 'crm_ops_job_last_success{instance="' in exposed


def test_every_job_of_the_chain_replaces_the_pushed_group(
    run_cli: CliRunner, pushgateway: str
) -> None:
    result = run_cli("run", env={"BACKPROOF_METRICS__PUSHGATEWAY": pushgateway})

    assert result.returncode == 0, result.stderr
    exposed = httpx.get(pushgateway + "/metrics", timeout=5).text
    verify_lines = [
        line for line in exposed.splitlines() if line.startswith("crm_ops_verify_success_rate_7d{")
    ]
    assert len(verify_lines) == 1
    assert verify_lines[0].endswith(" 1")
    assert 'crm_ops_job_last_success{instance="' in exposed
    assert 'step="health"' in exposed


def test_a_dead_pushgateway_never_fails_the_job(run_cli: CliRunner) -> None:
    gateway = f"http://127.0.0.1:{free_port()}"

    result = run_cli("backup", env={"BACKPROOF_METRICS__PUSHGATEWAY": gateway})

    assert result.returncode == 0
    assert f"pushing metrics to {gateway} failed" in result.stderr
