"""A few worker processes that take packs one at a time: the restore's decrypting
(``decrypting.py``) and the backup's sealing (``sealing.py``), off the caller's GIL.

pyrage holds the GIL for a whole pack (no ``allow_threads``), so in the caller's process no other
thread runs Python meanwhile. Here each worker (``python -m <module>``, started through
``backproof.process`` on the first pack that needs it) has a memfd buffer shared with the caller
and a ``SOCK_SEQPACKET`` socket: its first message (the identity file's or the recipients' bytes,
never argv or environment) goes with the buffer's descriptor, then one JSON job a message. A
thread asking waits with the GIL released. A worker that stops is an error of the caller's kind
(``error``) and is never handed out again; the pool stops every worker however the job ends.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from backproof.errors import OperationError
from backproof.filestore.pack_buffers import MESSAGE_BYTES
from backproof.process.workers import WorkerProcess, start_python_worker, stop_python_worker

STOP_SECONDS = 5.0  # a worker told to stop (its socket closed) ends at once unless it is stuck


@dataclass
class Worker:
    """One started worker: its process, its socket and the memfd shared with it."""

    process: WorkerProcess
    channel: socket.socket
    buffer: int

    def stop(self) -> None:
        """Stop the process (its socket closed, killed if it does not end) and wait for it.
        Once only: a worker discarded after its pool closed is stopped again, and closing its
        buffer's number twice would close whatever file has that number by then."""
        if self.buffer < 0:
            return
        self.channel.close()
        try:
            stop_python_worker(self.process, STOP_SECONDS)
        finally:
            os.close(self.buffer)
            self.buffer = -1


class PackWorkers:
    """Up to ``count`` workers running ``module``, each handed ``greeting`` first; ``what``
    names them in errors ("decrypting packs"), raised as ``error``. A context manager that
    stops them however the caller ends."""

    def __init__(
        self,
        module: str,
        greeting: bytes,
        count: int,
        what: str,
        error: Callable[[str], OperationError],
    ) -> None:
        self.module = module
        self.greeting = greeting
        self.count = count
        self.what = what
        self.error = error
        self.idle: list[Worker] = []
        self.started: list[Worker] = []
        self.changed = threading.Condition()
        self.is_closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker and wait for them."""
        with self.changed:
            self.is_closed = True
            workers, self.started, self.idle = self.started, [], []
            self.changed.notify_all()
        for worker in workers:
            worker.stop()

    def take(self) -> Worker:
        """Return an idle worker, starting one while fewer than ``count`` run."""
        with self.changed:
            while not self.idle and len(self.started) >= self.count and not self.is_closed:
                self.changed.wait()
            if self.is_closed:
                raise self.error(f"the processes {self.what} were stopped")
            if self.idle:
                return self.idle.pop()
            worker = self._start()
            self.started.append(worker)
            return worker

    def give_back(self, worker: Worker) -> None:
        """Make a worker that answered its job idle again."""
        with self.changed:
            self.idle.append(worker)
            self.changed.notify()

    def discard(self, worker: Worker) -> None:
        """Stop a worker in an unknown state (or gone): it is never handed out again."""
        with self.changed:
            if worker in self.started:
                self.started.remove(worker)
            self.changed.notify()  # a thread waiting for a worker may start another
        worker.stop()

    def ask(self, worker: Worker, job: dict[str, object]) -> dict[str, Any]:
        """Send ``job`` and return the answer; ``error`` when the worker stopped."""
        cause: OSError | None = None
        try:
            worker.channel.send(json.dumps(job).encode())
            message = worker.channel.recv(MESSAGE_BYTES)
        except OSError as exc:
            message, cause = b"", exc
        if not message:
            stopped = f"the process {self.what} stopped (exit code {worker.process.poll()})"
            raise self.error(stopped) from cause
        answer: dict[str, Any] = json.loads(message)
        return answer

    def _start(self) -> Worker:
        """Start a worker and hand it the greeting and its buffer (never through argv)."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        buffer = os.memfd_create("backproof-pack", os.MFD_CLOEXEC)
        try:
            with theirs:
                process = start_python_worker(self.module, theirs.fileno())
        except OSError as exc:
            mine.close()
            os.close(buffer)
            raise self.error(f"cannot start the process {self.what}: {exc}") from exc
        worker = Worker(process, mine, buffer)
        try:
            socket.send_fds(mine, [self.greeting], [buffer])
        except OSError as exc:
            worker.stop()
            raise self.error(f"cannot start the process {self.what}: {exc}") from exc
        return worker
