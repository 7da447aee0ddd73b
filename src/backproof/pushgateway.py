"""Pushing the metrics to a Prometheus pushgateway when a job ends.

For runs that no Prometheus scrapes (``backproof run`` from a systemd timer or a Kubernetes
CronJob), ``metrics.pushgateway`` names a pushgateway; every job then pushes the whole set of
metrics when it ends, replacing the group ``job=<metrics.push_job>, instance=<host>``. A push
that fails is logged and never fails the job: the backup matters more than its metric.
"""

from __future__ import annotations

import logging
import socket

from prometheus_client.exposition import push_to_gateway

from backproof.jobs.context import Context
from backproof.masking import mask_url
from backproof.metrics import build_registry

PUSH_TIMEOUT_SECONDS = 5.0

logger = logging.getLogger(__name__)


def push_metrics(context: Context) -> bool:
    """Push the metrics of every target to ``metrics.pushgateway``.

    Returns True when pushed, False when no pushgateway is configured or the push failed
    (the failure is logged with the masked address, never raised).
    """
    settings = context.settings.metrics
    if not settings.pushgateway:
        return False
    try:
        push_to_gateway(
            settings.pushgateway,
            job=settings.push_job,
            registry=build_registry(context),
            grouping_key={"instance": socket.gethostname()},
            timeout=PUSH_TIMEOUT_SECONDS,
        )
    except Exception as exc:  # any failure of a push is logged, never raised
        logger.warning(
            "pushing metrics to %s failed: %s: %s",
            mask_url(settings.pushgateway),
            type(exc).__name__,
            mask_url(str(exc)),
        )
        return False
    return True
