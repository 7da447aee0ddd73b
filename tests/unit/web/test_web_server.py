"""The service loop in-process: it serves until told to stop, and says when it cannot bind."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import pytest

from backproof.errors import OperationError
from backproof.jobs.context import Context
from backproof.web.server import run_service

WAIT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_run_service_serves_until_stopped_and_returns_no_interrupted_run(
    web_context: Context,
) -> None:
    port = free_port()
    stop = threading.Event()
    outcome: list[Any] = []
    thread = threading.Thread(
        target=lambda: outcome.append(run_service(web_context, "127.0.0.1", port, stop)),
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not answers(f"http://127.0.0.1:{port}/healthz") and time.monotonic() < deadline:
        time.sleep(0.05)

    metrics = httpx.get(f"http://127.0.0.1:{port}/crm/ops/metrics", timeout=5)
    stop.set()
    thread.join(WAIT_SECONDS)

    assert metrics.status_code == 200
    assert 'crm_ops_health_status{status="pending",target="crm"} 1.0' in metrics.text
    assert [item.interrupted for item in outcome] == [[]]


def test_run_service_raises_when_the_port_is_taken(web_context: Context) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])

        expected = f"cannot listen on 127.0.0.1:{port}: Address already in use"
        with pytest.raises(OperationError, match=expected):
            run_service(web_context, "127.0.0.1", port, threading.Event())
