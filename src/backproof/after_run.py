"""The after-run hooks the faces register on a job context: alerts and the metrics push.

The CLI and the service (and any later face, such as a worker) open their context with
``after_run_hooks(settings)``; ``jobs.lifecycle`` calls each hook with the finished row. A job
itself knows nobody who listens, and a job test that opens a bare context sends no alert.
"""

from __future__ import annotations

from backproof.alert_dispatch import alert_after_job
from backproof.config.models import Settings
from backproof.jobs.context import AfterRunHook, Context
from backproof.state.activities import Activity


def after_run_hooks(settings: Settings) -> list[AfterRunHook]:
    """Return the hooks of a face, in order: alerts first, then the metrics push."""
    hooks: list[AfterRunHook] = [send_alerts]
    if settings.metrics.pushgateway:
        hooks.append(push_metrics_after_run)
    return hooks


def send_alerts(context: Context, finished: Activity) -> None:
    """Judge and send the alerts a finished run may change (never raises)."""
    alert_after_job(context, finished)


def push_metrics_after_run(context: Context, finished: Activity) -> None:
    """Push every target's metrics once a row is finished (never raises)."""
    # prometheus_client loads only where a pushgateway is configured (CLI start-up time).
    from backproof.pushgateway import push_metrics  # noqa: PLC0415

    push_metrics(context)
