"""The Prometheus metrics: the five of DESIGN with a target label, from the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from backproof.config.models import Settings
from backproof.jobs.context import Context, open_context
from backproof.metrics import render_metrics
from hand_clock import HandClock

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
SPEC_METRICS = (
    "crm_ops_last_db_dump_age_minutes",
    "crm_ops_last_verify_restore_age_hours",
    "crm_ops_backup_success_rate_7d",
    "crm_ops_verify_success_rate_7d",
    "crm_ops_restore_duration_seconds_last",
)


@pytest.fixture
def clock() -> HandClock:
    return HandClock(NOW)


@pytest.fixture
def frozen_context(settings: Settings, clock: HandClock) -> Iterator[Context]:
    context = open_context(settings, clock)
    yield context
    context.activities.engine.dispose()


def samples(context: Context) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Return every sample of the metrics text as (name, labels) -> value."""
    text = render_metrics(context).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def add(
    context: Context, clock: HandClock, job: str, status: str, hours_ago: float, **meta: object
) -> None:
    """Record a run that finished ``hours_ago`` before NOW."""
    clock.now = NOW - timedelta(hours=hours_ago, seconds=30)
    activity_id = context.activities.start(job, "crm")
    clock.now = NOW - timedelta(hours=hours_ago)
    context.activities.finish(activity_id, status, job, dict(meta))
    clock.now = NOW


def test_no_history_leaves_the_spec_metrics_out(frozen_context: Context) -> None:
    names = {name for name, _labels in samples(frozen_context)}

    assert not names & set(SPEC_METRICS)


def test_spec_metrics_have_the_values_of_the_history(
    frozen_context: Context, clock: HandClock
) -> None:
    add(frozen_context, clock, "backup", "failed", 30)
    add(frozen_context, clock, "backup", "success", 2)
    add(frozen_context, clock, "verify", "success", 1.5, restore_duration_seconds=4.25)

    values = samples(frozen_context)

    label = (("target", "crm"),)
    assert values[("crm_ops_last_db_dump_age_minutes", label)] == pytest.approx(120)
    assert values[("crm_ops_last_verify_restore_age_hours", label)] == pytest.approx(1.5)
    assert values[("crm_ops_backup_success_rate_7d", label)] == pytest.approx(0.5)
    assert values[("crm_ops_verify_success_rate_7d", label)] == pytest.approx(1.0)
    assert values[("crm_ops_restore_duration_seconds_last", label)] == pytest.approx(4.25)


def test_health_status_is_one_for_the_current_verdict_only(
    frozen_context: Context, clock: HandClock
) -> None:
    add(frozen_context, clock, "backup", "success", 30)

    values = samples(frozen_context)

    statuses = {
        dict(labels)["status"]: value
        for (name, labels), value in values.items()
        if name == "crm_ops_health_status"
    }
    assert statuses == {"ok": 0.0, "pending": 0.0, "warning": 0.0, "failing": 1.0}


def test_prefix_is_configurable(settings: Settings, clock: HandClock) -> None:
    settings.metrics.prefix = "shop_"
    context = open_context(settings, clock)
    add(context, clock, "backup", "success", 1)

    names = {name for name, _labels in samples(context)}
    context.activities.engine.dispose()

    assert "shop_last_db_dump_age_minutes" in names
    assert not any(name.startswith("crm_ops_") for name in names)
