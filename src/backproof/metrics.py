"""Prometheus metrics, computed at scrape time from the same figures as health and the report.

Declared once, on a registry of their own (never the global one), through prometheus_client.
A figure that is not known yet (no backup, no verify) is left out rather than reported as 0,
so that ``absent()`` alerts see it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from backproof.health import SEVERITY
from backproof.jobs.context import Context
from backproof.jobs.health import assess_health
from backproof.status import TargetFigures


def _minutes(value: float | None) -> float | None:
    return None if value is None else value * 60


METRICS: tuple[tuple[str, str, Callable[[TargetFigures], float | None]], ...] = (
    (
        "last_db_dump_age_minutes",
        "Minutes since the newest valid backup finished.",
        lambda figures: _minutes(figures.newest_backup_age_hours),
    ),
    (
        "last_verify_restore_age_hours",
        "Hours since a verify restore last passed.",
        lambda figures: figures.last_verify_age_hours,
    ),
    (
        "backup_success_rate_7d",
        "Ratio (0..1) of successful backups over the health window.",
        lambda figures: figures.backup_success_rate,
    ),
    (
        "verify_success_rate_7d",
        "Ratio (0..1) of passed verifies over the health window.",
        lambda figures: figures.verify_success_rate,
    ),
    (
        "restore_duration_seconds_last",
        "Seconds the last passed verify took to restore.",
        lambda figures: figures.restore_duration_seconds_last,
    ),
    (
        "last_backup_size_bytes",
        "Stored size of the newest valid backup.",
        lambda figures: figures.newest_backup_size_bytes,
    ),
    (
        "verify_consecutive_failures",
        "Verifies failed in a row, most recent first.",
        lambda figures: figures.consecutive_verify_failures,
    ),
)


class OpsCollector(Collector):
    """Computes every metric from the state database when Prometheus scrapes."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.prefix = context.settings.metrics.prefix

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families with one sample per target."""
        health = assess_health(self.context)
        for name, documentation, read in METRICS:
            family = GaugeMetricFamily(self.prefix + name, documentation, labels=["target"])
            for figures in health.figures:
                value = read(figures)
                if value is not None:
                    family.add_metric([figures.target], float(value))
            yield family
        status = GaugeMetricFamily(
            self.prefix + "health_status",
            "Health verdict per target: 1 for the current status, 0 for the others.",
            labels=["target", "status"],
        )
        for verdict in health.targets:
            for name in SEVERITY:
                status.add_metric([verdict.target, name], 1.0 if verdict.status == name else 0.0)
        yield status


def build_registry(context: Context) -> CollectorRegistry:
    """Return a registry of backproof's metrics for ``context``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OpsCollector(context))
    return registry


def render_metrics(context: Context) -> bytes:
    """Return the metrics in Prometheus text format."""
    return generate_latest(build_registry(context))
