"""A real Prometheus scrapes a real ``backproof serve`` (with a token) and answers the five
metrics of the spec through its query API."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
from service_processes import ServeProcess, wait_for

TOKEN = "scrape-token-0123456789"
SPEC_METRICS = (
    "crm_ops_last_db_dump_age_minutes",
    "crm_ops_last_verify_restore_age_hours",
    "crm_ops_backup_success_rate_7d",
    "crm_ops_verify_success_rate_7d",
    "crm_ops_restore_duration_seconds_last",
)
ALERTS = Path(__file__).parents[3] / "deploy" / "prometheus" / "alerts.yml"

PROMETHEUS_CONFIG = """
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {alerts}
scrape_configs:
  - job_name: backproof
    metrics_path: /crm/ops/metrics
    authorization:
      credentials: {token}
    static_configs:
      - targets: ["{address}"]
"""


def query(prometheus: str, expression: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expression}, timeout=5)
    answer.raise_for_status()
    result: list[dict[str, object]] = answer.json()["data"]["result"]
    return result


def test_prometheus_reads_the_five_spec_metrics_of_serve(
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
    start_serve: Callable[..., ServeProcess],
    start_prometheus: Callable[[str], str],
) -> None:
    assert run_cli("run").returncode == 0
    service = start_serve({"BACKPROOF_WEB__TOKEN": TOKEN})
    prometheus = start_prometheus(
        PROMETHEUS_CONFIG.format(alerts=ALERTS, token=TOKEN, address=service.address)
    )

    wait_for(
        lambda: all(query(prometheus, name) for name in SPEC_METRICS),
        "Prometheus to have scraped the five metrics",
    )

    for name in SPEC_METRICS:
        (sample,) = query(prometheus, name)
        assert sample["metric"] == {
            "__name__": name,
            "instance": service.address,
            "job": "backproof",
            "target": "crm",
        }
    (rate,) = query(prometheus, "crm_ops_backup_success_rate_7d")
    assert rate["value"][1] == "1"  # type: ignore[index]
    (up,) = query(prometheus, 'up{job="backproof"}')
    assert up["value"][1] == "1"  # type: ignore[index]
    rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
    assert [group["name"] for group in rules] == ["backproof"]
    assert service.terminate() == 0


def test_serve_answers_401_without_the_token_and_200_with_it(
    start_serve: Callable[..., ServeProcess],
) -> None:
    service = start_serve({"BACKPROOF_WEB__TOKEN": TOKEN})

    refused = httpx.get(service.url + "/crm/ops/metrics", timeout=5)
    allowed = httpx.get(
        service.url + "/api/status", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    alive = httpx.get(service.url + "/healthz", timeout=5)

    assert refused.status_code == 401
    assert allowed.status_code == 200
    assert allowed.json()["targets"][0]["target"] == "crm"
    assert alive.json() == {"status": "ok"}
    assert service.terminate() == 0
