"""Real processes for the service tests: ``backproof serve``, Prometheus and its pushgateway,
each on a free loopback port, stopped at the end of the test."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
from service_processes import (
    PROMETHEUS,
    PUSHGATEWAY,
    START_SECONDS,
    ServeProcess,
    answers,
    free_port,
    require_binary,
    wait_for,
)

from backproof.demo import DemoLayout


@pytest.fixture
def start_serve(demo: DemoLayout) -> Iterator[Callable[..., ServeProcess]]:
    """Start ``backproof serve`` in the demo's folder (``env`` adds variables)."""
    started: list[ServeProcess] = []

    def start(env: dict[str, str] | None = None, *args: str) -> ServeProcess:
        service = ServeProcess(demo.folder, env or {}, args)
        started.append(service)
        return service

    yield start
    for service in started:
        service.close()


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """A pushgateway on a free loopback port; yield its URL."""
    binary = require_binary(PUSHGATEWAY, "prometheus-pushgateway")
    url = f"http://127.0.0.1:{free_port()}"
    with (tmp_path / "pushgateway.log").open("w") as log:
        process = subprocess.Popen(
            [binary, f"--web.listen-address={url.removeprefix('http://')}"],
            stdout=log,
            stderr=log,
        )
        try:
            wait_for(lambda: answers(url + "/-/ready"), "the pushgateway to be ready")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=START_SECONDS)


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Start Prometheus with a config (YAML text); return its URL once ready."""
    binary = require_binary(PROMETHEUS, "prometheus")
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[IO[str]] = []

    def start(config_text: str) -> str:
        config = tmp_path / "prometheus.yml"
        config.write_text(config_text, "utf-8")
        url = f"http://127.0.0.1:{free_port()}"
        command = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
            f"--web.listen-address={url.removeprefix('http://')}",
        ]
        log = (tmp_path / "prometheus.log").open("w")
        logs.append(log)
        processes.append(subprocess.Popen(command, stdout=log, stderr=log))
        wait_for(lambda: answers(url + "/-/ready"), "Prometheus to be ready")
        return url

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=START_SECONDS)
    for log in logs:
        log.close()
