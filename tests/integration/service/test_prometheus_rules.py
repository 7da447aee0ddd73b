"""The shipped alert rules load in Prometheus' own checker and pass their unit tests, and the
Grafana dashboard charts only metrics that backproof exposes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from service_processes import PROMTOOL, require_binary

from backproof.jobs.context import Context
from backproof.metrics import render_metrics

DEPLOY = Path(__file__).parents[3] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
DASHBOARD = DEPLOY / "grafana" / "backproof-dashboard.json"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    command = [require_binary(PROMTOOL, "prometheus"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_promtool_check_rules_accepts_the_alert_rules() -> None:
    result = promtool("check", "rules", str(RULES))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 10 rules found" in result.stdout


def test_promtool_test_rules_passes_the_rule_tests() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))

    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_use_only_exposed_metrics(context: Context) -> None:
    exposed = set(re.findall(r"^# TYPE (\w+) ", render_metrics(context).decode(), re.M))

    used = set(re.findall(r"\bcrm_ops_\w+", RULES.read_text("utf-8")))

    assert used <= exposed


def test_dashboard_charts_only_exposed_metrics(context: Context) -> None:
    exposed = set(re.findall(r"^# TYPE (\w+) ", render_metrics(context).decode(), re.M))
    dashboard = json.loads(DASHBOARD.read_text("utf-8"))

    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in expressions for name in re.findall(r"\bcrm_ops_\w+", expr)}

    assert used <= exposed
    assert {
        "crm_ops_backup_success_rate_7d",
        "crm_ops_last_db_dump_age_minutes",
        "crm_ops_restore_duration_seconds_last",
        "crm_ops_last_backup_size_bytes",
    } <= used
