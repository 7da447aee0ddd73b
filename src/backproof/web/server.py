"""``backproof serve``: the HTTP app and the scheduler in one process, stopped by a signal.

The main thread owns the signals: uvicorn serves in a thread of its own (so it installs no
handlers), the scheduler runs the chains in its pool. SIGTERM or SIGINT stops the scheduler
first (the running job gets ``schedule.shutdown_grace_seconds`` to finish), then the HTTP
server, so metrics stay scrapeable while the last job ends.
"""

from __future__ import annotations

import gc
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import uvicorn

from backproof.errors import OperationError
from backproof.jobs.context import Context
from backproof.scheduler.loop import ChainRunner, ChainScheduler, run_daily_chain
from backproof.scheduler.plan import build_trigger
from backproof.scheduler.startup import clean_up_at_startup
from backproof.state.activities import Activity
from backproof.web.app import create_app
from backproof.web.security import check_bind

Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

STARTUP_TIMEOUT_SECONDS = 30.0
HTTP_STOP_TIMEOUT_SECONDS = 10.0

logger = logging.getLogger(__name__)


@dataclass
class ServiceOutcome:
    """How the service ended: the runs it had to record as interrupted."""

    interrupted: list[Activity] = field(default_factory=list)


def run_service(
    context: Context, host: str, port: int, stop: threading.Event | None = None
) -> ServiceOutcome:
    """Serve until SIGTERM or SIGINT (or until ``stop`` is set); return how it ended.

    Raises UsageError when binding beyond loopback without a token, ConfigError when the
    schedule is invalid, and OperationError when the address cannot be bound.
    """
    check_bind(host, context.settings.web.token)
    build_trigger(context.settings.schedule)
    stop = stop or threading.Event()
    previous_handlers = _stop_on_signals(stop)
    try:
        clean_up_at_startup(context)
        scheduler = ChainScheduler(context, _chain_runner(context))
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(context, scheduler, scheduler, scheduler.actions),
                host=host,
                port=port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        return _serve_until_stopped(context, server, scheduler, stop)
    finally:
        for signal_number, handler in previous_handlers.items():
            signal.signal(signal_number, handler)


def _chain_runner(context: Context) -> ChainRunner:
    """Run each due chain here, or send it to the fleet's workers when ``[queue]`` is set."""
    if context.settings.queue.broker_url is None:
        return run_daily_chain
    from backproof.fleet.submit import queue_daily_chain  # noqa: PLC0415 - loads Celery

    return queue_daily_chain


def _serve_until_stopped(
    context: Context, server: uvicorn.Server, scheduler: ChainScheduler, stop: threading.Event
) -> ServiceOutcome:
    listener = bind_socket(server.config.host, server.config.port)
    # Everything loaded so far lives as long as the process: keep it out of the collector's
    # full passes, which would otherwise show up as pauses in the scrape latency tail.
    gc.freeze()
    http = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="backproof-http", daemon=True
    )
    http.start()
    interrupted: list[Activity] = []
    try:
        _wait_until_listening(server, http, listener)
        overdue = scheduler.start()
        _log_started(listener, context, scheduler, overdue)
        stop.wait()
        grace_seconds = context.settings.schedule.shutdown_grace_seconds
        logger.info("stopping: waiting up to %g s for running jobs", grace_seconds)
        interrupted = scheduler.stop(grace_seconds)
        for row in interrupted:
            logger.warning(
                "recorded %s of %s (activity %s) as interrupted", row.job, row.target, row.id
            )
    finally:
        if scheduler.scheduler.running:
            scheduler.stop(0)
        server.should_exit = True
        http.join(HTTP_STOP_TIMEOUT_SECONDS)
        listener.close()
    return ServiceOutcome(interrupted)


def bind_socket(host: str, port: int) -> socket.socket:
    """Return a socket bound to ``host:port`` (0: a free port), for uvicorn to listen on.

    Raises OperationError naming the address and the reason when it cannot be bound.
    """
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
        listener = socket.socket(family, kind, protocol)
    except OSError as exc:
        raise OperationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as exc:
        listener.close()
        raise OperationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return listener


def _stop_on_signals(stop: threading.Event) -> dict[int, Handler]:
    """Set ``stop`` on SIGTERM and SIGINT; return the handlers replaced (main thread only)."""

    def handle(signal_number: int, _frame: FrameType | None) -> None:
        logger.info("received %s", signal.Signals(signal_number).name)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {number: signal.signal(number, handle) for number in (signal.SIGTERM, signal.SIGINT)}


def _wait_until_listening(
    server: uvicorn.Server, http: threading.Thread, listener: socket.socket
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not http.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise OperationError(f"cannot serve on {listening_address(listener)} (see the log)")
        time.sleep(0.02)


def listening_address(listener: socket.socket) -> str:
    """Return ``http://host:port`` of the bound socket (the real port when 0 was asked)."""
    host, port = listener.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _log_started(
    listener: socket.socket, context: Context, scheduler: ChainScheduler, overdue: list[str]
) -> None:
    address = listening_address(listener)
    logger.info(
        "backproof serving on %s (metrics at %s%s)", address, address, context.settings.metrics.path
    )
    for target, moment in sorted(scheduler.next_run_times().items()):
        logger.info("next chain of %s at %s", target, moment.isoformat() if moment else "never")
    if overdue:
        logger.info("starting the missed runs of %s now", ", ".join(overdue))
