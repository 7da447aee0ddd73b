"""Helpers of the service tests: real processes on free loopback ports, polled until ready."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

PROMETHEUS = "/usr/bin/prometheus"
PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"
PROMTOOL = "/usr/bin/promtool"
START_SECONDS = 30.0
INSTALL_HINT = "install it with scripts/install-system-deps.sh (Debian package {package})"


def require_binary(path: str, package: str) -> str:
    """Return ``path``; fail the test (not skip) when the program is not installed."""
    if not Path(path).is_file() and shutil.which(Path(path).name) is None:
        pytest.fail(f"{path} is missing: " + INSTALL_HINT.format(package=package))
    return path if Path(path).is_file() else str(shutil.which(Path(path).name))


def free_port() -> int:
    """Return a loopback port that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], bool], what: str, seconds: float = START_SECONDS) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.05)


def answers(url: str) -> bool:
    """Return True when ``url`` answers 200."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def service_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Return the environment of a user without backproof overrides, plus ``extra``."""
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("BACKPROOF_") and name != "ALERT_SLACK_WEBHOOK"
    }
    return base | (extra or {})


class ServeProcess:
    """``backproof serve`` running in the demo's folder; its stderr is collected line by line."""

    def __init__(self, folder: Path, env: dict[str, str], args: tuple[str, ...] = ()) -> None:
        command = [sys.executable, "-m", "backproof", "serve", "--port", "0", *args]
        # A job still running when the service exits leaves its temporary folder: keep it in
        # the test's folder, not in /tmp.
        temporary = folder / "tmp"
        temporary.mkdir(exist_ok=True)
        environment = service_environment({"TMPDIR": str(temporary)} | env)
        self.process = subprocess.Popen(
            command, cwd=folder, env=environment, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self.url = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_for(lambda: bool(self.url) or self.process.poll() is not None, "serve to listen")
        if not self.url:
            pytest.fail("backproof serve ended before listening:\n" + self.log)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
            if found:
                self.url = found.group(1)

    @property
    def log(self) -> str:
        """Return what the service wrote to stderr so far."""
        return "".join(self.lines)

    @property
    def address(self) -> str:
        """Return ``host:port`` of the service."""
        return self.url.removeprefix("http://")

    def terminate(self, seconds: float = START_SECONDS) -> int:
        """Send SIGTERM; return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=seconds)
        self._reader.join(seconds)
        return code

    def close(self) -> None:
        """Kill the process if it still runs, and close its pipe."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=START_SECONDS)
        self._reader.join(START_SECONDS)
        if self.process.stderr is not None:
            self.process.stderr.close()
