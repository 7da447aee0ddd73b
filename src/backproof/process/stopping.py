"""Stopping running pipelines from another thread: when one of two concurrent jobs fails, the
other is not left running (a restore in two streams, ``postgresql_sections``).

A :class:`Stopper` is handed to ``run_command``/``read_pipeline``/``write_pipeline``; its
``stop`` ends every stage of the pipelines running with it, and any started with it later:
SIGTERM first, which a tool with workers of its own passes on to them (``pg_restore --jobs``;
SIGKILL would leave its workers loading), then SIGKILL to what still runs STOP_GRACE_SECONDS
later. A pipeline it stopped raises PipelineError saying so (not the error of a broken pipe).
"""

from __future__ import annotations

import threading

from backproof.process.stages import Stage

STOP_GRACE_SECONDS = 10.0


class Stopper:
    """Kills the stages of the pipelines registered with it once ``stop`` is called."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: list[list[Stage]] = []
        self.reason = ""

    @property
    def stopped(self) -> bool:
        """True once ``stop`` was called."""
        with self._lock:
            return bool(self.reason)

    def stop(self, reason: str) -> None:
        """Kill every stage running with this stopper, and every one started with it later;
        ``reason`` says why (in the stopped pipelines' errors). The first reason is kept."""
        with self._lock:
            first = not self.reason
            self.reason = self.reason or reason
            running = [stage for stages in self._running for stage in stages]
        for stage in running:
            stage.terminate()
        if first:
            timer = threading.Timer(STOP_GRACE_SECONDS, self._kill_remaining)
            timer.name, timer.daemon = "stopper", True
            timer.start()

    def register(self, stages: list[Stage]) -> None:
        """Follow ``stages`` (just started); kill them at once when already stopped."""
        with self._lock:
            self._running.append(stages)
            stopped = bool(self.reason)
        if stopped:
            for stage in stages:
                stage.terminate()

    def _kill_remaining(self) -> None:
        """Kill what the SIGTERM did not end."""
        with self._lock:
            running = [stage for stages in self._running for stage in stages]
        for stage in running:
            stage.kill()

    def unregister(self, stages: list[Stage]) -> None:
        """Forget ``stages`` (ended)."""
        with self._lock:
            self._running = [running for running in self._running if running is not stages]
