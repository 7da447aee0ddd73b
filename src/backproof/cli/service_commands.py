"""``backproof serve``: the HTTP service (metrics, status API) and the scheduler in one process."""

from __future__ import annotations

import os
import sys

import click

from backproof.cli.main import Invocation, cli, pass_invocation

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Their INFO lines (each migration step, each job added) say nothing an operator acts on.
QUIET_LOGGERS = ("alembic", "apscheduler")


@cli.command()
@click.option("--host", metavar="H", help="Address to listen on (default: web.host, 127.0.0.1).")
@click.option(
    "--port",
    metavar="P",
    type=click.IntRange(0, 65535),
    help="Port to listen on (default: web.port, 9187; 0 picks a free one).",
)
@pass_invocation
def serve(invocation: Invocation, host: str | None, port: int | None) -> int:
    """Serve the metrics and the status API, and run the daily chain on the schedule."""
    # The web stack (FastAPI, uvicorn) loads only for `serve`: every other command starts faster.
    import logging  # noqa: PLC0415 - a light --help (issue 12)

    from backproof.process.temporary_root import process_temporary_root  # noqa: PLC0415
    from backproof.web.security import check_bind  # noqa: PLC0415
    from backproof.web.server import run_service  # noqa: PLC0415

    settings = invocation.settings()
    host = host or settings.web.host
    port = settings.web.port if port is None else port
    check_bind(host, settings.web.token)
    logging.basicConfig(
        level=logging.DEBUG if invocation.debug else logging.INFO,
        format=LOG_FORMAT,
        stream=sys.stderr,
    )
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Every job's temporary folder lives under the service's own, removed as it exits, even
    # with a job still running after SIGTERM's grace.
    with process_temporary_root("serve", logging.getLogger(__name__).warning):
        outcome = run_service(invocation.context(), host, port)
    if outcome.interrupted:
        # The interrupted chains still run in pool threads that exit would wait for; their
        # rows are recorded and their temporary files removed, so leave now.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0
