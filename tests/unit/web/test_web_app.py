"""The HTTP app against a real state database: metrics, liveness, status API, token."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from web_history import NOW, AppClient, add_good_day, add_run, make_settings

from backproof.jobs.context import Context, open_context
from backproof.web.app import create_app
from hand_clock import HandClock

SPEC_METRICS = (
    "crm_ops_last_db_dump_age_minutes",
    "crm_ops_last_verify_restore_age_hours",
    "crm_ops_backup_success_rate_7d",
    "crm_ops_verify_success_rate_7d",
    "crm_ops_restore_duration_seconds_last",
)


class FixedSchedule:
    """A scheduler view with fixed answers (the app reads only these two methods)."""

    def __init__(self, running: bool, next_run: datetime | None) -> None:
        self.running = running
        self.next_run = next_run

    def next_run_times(self) -> dict[str, datetime | None]:
        return {"crm": self.next_run}

    def is_running(self) -> bool:
        return self.running


def test_metrics_answers_prometheus_text_with_the_five_spec_metrics_when_history_exists(
    web_context: Context, clock: HandClock
) -> None:
    add_good_day(web_context, clock, NOW - timedelta(hours=5))

    response = AppClient(create_app(web_context)).get("/crm/ops/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    for name in SPEC_METRICS:
        assert f"# HELP {name} " in response.text
        assert f"# TYPE {name} gauge" in response.text
        assert f'{name}{{target="crm"}} ' in response.text


def test_metrics_reports_values_of_the_history_when_scraped(
    web_context: Context, clock: HandClock
) -> None:
    add_good_day(web_context, clock, NOW - timedelta(hours=5))

    text = AppClient(create_app(web_context)).get("/crm/ops/metrics").text

    assert 'crm_ops_backup_success_rate_7d{target="crm"} 1.0' in text
    assert 'crm_ops_restore_duration_seconds_last{target="crm"} 12.5' in text
    assert 'crm_ops_destination_backups{destination="local",target="crm"} 3.0' in text
    assert 'crm_ops_job_last_duration_seconds{step="verify",target="crm"} 20.0' in text
    assert 'crm_ops_job_last_success{step="report",target="crm"} 1.0' in text
    assert 'crm_ops_health_status{status="ok",target="crm"} 1.0' in text


def test_metrics_never_opens_a_destination_when_scraped(
    web_context: Context, clock: HandClock
) -> None:
    add_good_day(web_context, clock, NOW - timedelta(hours=5))

    AppClient(create_app(web_context)).get("/crm/ops/metrics")

    assert web_context.storages == {}


def test_metrics_answers_at_the_configured_path_and_prefix(
    tmp_path: Path, clock: HandClock
) -> None:
    settings = make_settings(tmp_path, metrics={"path": "/metrics", "prefix": "shop_"})
    context = open_context(settings, clock)
    add_good_day(context, clock, NOW - timedelta(hours=5))
    client = AppClient(create_app(context))

    response = client.get("/metrics")

    assert 'shop_backup_success_rate_7d{target="crm"} 1.0' in response.text
    assert client.get("/crm/ops/metrics").status_code == 404
    context.activities.engine.dispose()


def test_healthz_answers_ok_when_the_scheduler_runs(web_context: Context) -> None:
    app = create_app(web_context, FixedSchedule(running=True, next_run=None))

    response = AppClient(app).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_answers_503_when_the_scheduler_stopped(web_context: Context) -> None:
    app = create_app(web_context, FixedSchedule(running=False, next_run=None))

    assert AppClient(app).get("/healthz").status_code == 503


def test_status_describes_health_newest_backup_and_last_verify(
    web_context: Context, clock: HandClock
) -> None:
    backup_id = add_good_day(web_context, clock, NOW - timedelta(hours=5))
    app = create_app(web_context, FixedSchedule(True, NOW + timedelta(hours=19)))

    document = AppClient(app).get("/api/status").json()

    assert document["status"] == "ok"
    assert document["generated_at"] == "2026-11-26T06:00:00+00:00"
    (target,) = document["targets"]
    assert target["target"] == "crm"
    assert {check["name"] for check in target["checks"]} >= {"rpo", "backup_success_rate"}
    assert target["newest_backup"]["id"] == backup_id
    assert target["newest_backup"]["destinations"] == ["local", "offsite"]
    assert target["last_verify"]["status"] == "success"
    assert target["last_verify"]["restore_duration_seconds"] == 12.5
    assert target["next_run_at"] == "2026-11-27T01:00:00+00:00"


def test_status_shows_pending_without_backups_or_verifies(web_context: Context) -> None:
    document = AppClient(create_app(web_context)).get("/api/status").json()

    (target,) = document["targets"]
    assert target["status"] == "pending"
    assert target["newest_backup"] is None
    assert target["last_verify"] is None


def test_status_shows_the_failed_last_verify_when_verify_failed(
    web_context: Context, clock: HandClock
) -> None:
    add_good_day(web_context, clock, NOW - timedelta(hours=30))
    add_run(web_context, clock, "verify", "failed", NOW - timedelta(hours=1))

    document = AppClient(create_app(web_context)).get("/api/status").json()

    assert document["targets"][0]["last_verify"]["status"] == "failed"


def test_openapi_document_describes_the_status_endpoint(web_context: Context) -> None:
    document = AppClient(create_app(web_context)).get("/api/openapi.json").json()

    operation = document["paths"]["/api/status"]["get"]
    reference = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert reference == "#/components/schemas/StatusDocument"
    schema = document["components"]["schemas"]["TargetStatus"]
    assert {"checks", "newest_backup", "last_verify"} <= set(schema["properties"])


def test_state_database_failure_answers_503_without_a_traceback(web_context: Context) -> None:
    with web_context.activities.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE ops_activities"))
    client = AppClient(create_app(web_context))

    response = client.get("/crm/ops/metrics")

    assert response.status_code == 503
    assert response.json() == {"detail": "the state database is unavailable"}


@pytest.fixture
def guarded_context(tmp_path: Path, clock: HandClock) -> Context:
    settings = make_settings(tmp_path, web={"token": "s3cret-token"})
    context = open_context(settings, clock)
    assert context.settings.web.token == SecretStr("s3cret-token")
    return context


@pytest.mark.parametrize("path", ["/crm/ops/metrics", "/api/status"])
def test_token_is_required_when_configured(guarded_context: Context, path: str) -> None:
    client = AppClient(create_app(guarded_context))

    missing = client.get(path)
    wrong = client.get(path, headers={"Authorization": "Bearer s3cret-tokeN"})
    right = client.get(path, headers={"Authorization": "Bearer s3cret-token"})

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401
    assert right.status_code == 200
    guarded_context.activities.engine.dispose()


def test_healthz_needs_no_token_when_one_is_configured(guarded_context: Context) -> None:
    assert AppClient(create_app(guarded_context)).get("/healthz").status_code == 200
    guarded_context.activities.engine.dispose()


@pytest.mark.parametrize(
    "path", ["/api/openapi.json", "/api/status/", "/crm/ops/metrics/", "/no/such/page", "/"]
)
def test_every_path_but_healthz_answers_401_without_the_token(
    guarded_context: Context, path: str
) -> None:
    response = AppClient(create_app(guarded_context)).get(path)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "location" not in response.headers
    guarded_context.activities.engine.dispose()


def test_openapi_document_is_served_with_the_token(guarded_context: Context) -> None:
    headers = {"Authorization": "Bearer s3cret-token"}

    response = AppClient(create_app(guarded_context)).get("/api/openapi.json", headers=headers)

    assert response.status_code == 200
    assert "/api/status" in response.json()["paths"]
    guarded_context.activities.engine.dispose()


@pytest.mark.parametrize("path", ["/crm/ops/metrics", "/api/status"])
def test_openapi_document_lists_401_for_guarded_endpoints(web_context: Context, path: str) -> None:
    document = AppClient(create_app(web_context)).get("/api/openapi.json").json()

    assert "401" in document["paths"][path]["get"]["responses"]
