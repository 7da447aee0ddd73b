"""One started stage of a pipeline: its process, stderr tail and verdict; and the watchdog.

Internal to :mod:`backproof.process`; the rest of backproof uses the functions of
:mod:`backproof.process.pipeline`.
"""

from __future__ import annotations

import contextlib
import enum
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import IO

from backproof.errors import PipelineError
from backproof.process.commands import Command, mask
from backproof.pydantic_plugins import child_environment

TAIL_LINES = 20
TAIL_BYTES = 8 * 1024
# A grandchild that inherited stderr can keep it open after the stage exits; never hang on it.
STDERR_JOIN_SECONDS = 5.0

StreamArgument = int | IO[bytes] | None


class Verdict(enum.Enum):
    """How a stage ended, judged against the stage that read its output."""

    OK = "ok"
    STOPPED = "stopped"  # ended because its reader ended first or because backproof killed it
    FAILED = "failed"


class StderrTail:
    """The last lines a stage wrote to stderr: at most TAIL_LINES lines and TAIL_BYTES bytes."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque(maxlen=TAIL_LINES)
        self._size_bytes = 0
        self._lock = threading.Lock()

    def drain(self, stream: IO[bytes], progress: Callable[[bytes], bool] | None = None) -> None:
        """Read ``stream`` to its end, keeping only the tail; closes the stream. Each line is
        shown to ``progress`` first; one it returns True for stays out of the tail."""
        with stream:
            for chunk in iter(lambda: stream.readline(TAIL_BYTES), b""):
                if progress is None or not progress(chunk):
                    self._append(chunk)

    def text(self) -> str:
        """Return the tail decoded as UTF-8 (undecodable bytes replaced)."""
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", errors="replace")

    def _append(self, chunk: bytes) -> None:
        with self._lock:
            if len(self._chunks) == self._chunks.maxlen:
                self._size_bytes -= len(self._chunks[0])
            self._chunks.append(chunk)
            self._size_bytes += len(chunk)
            while self._size_bytes > TAIL_BYTES:
                self._size_bytes -= len(self._chunks.popleft())


class Stage:
    """A started command: its process, a thread draining its stderr, and how it ended."""

    def __init__(self, command: Command, process: subprocess.Popen[bytes]) -> None:
        self.command = command
        self.process = process
        self.tail = StderrTail()
        self.killed = False
        self.timed_out_after_seconds: float | None = None
        if process.stderr is None:
            raise ValueError(f"{command.name}: a stage must be started with stderr=PIPE")
        self._drain = threading.Thread(
            target=self.tail.drain,
            args=(process.stderr, command.progress),
            name=f"stderr of {command.name}",
            daemon=True,
        )
        self._drain.start()

    @classmethod
    def start(cls, command: Command, *, stdin: StreamArgument, stdout: StreamArgument) -> Stage:
        """Start ``command``. Raises PipelineError when it cannot start (e.g. not installed)."""
        try:
            process = subprocess.Popen(
                command.argv,
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.PIPE,
                env={**child_environment(), **command.env},
                cwd=command.cwd,
                close_fds=True,
                # Python ignores SIGPIPE; children get it back, so a dead reader stops them.
                restore_signals=True,
                start_new_session=False,
            )
        except OSError as error:
            message = describe_start_failure(command, error)
            raise PipelineError(message, [message]) from error
        return cls(command, process)

    def kill(self, *, timed_out_after_seconds: float | None = None) -> None:
        """Kill the process if it is still running, remembering that we did (and why)."""
        if self.process.poll() is not None:
            return
        self.killed = True
        if timed_out_after_seconds is not None:
            self.timed_out_after_seconds = timed_out_after_seconds
        self.process.kill()

    def terminate(self) -> None:
        """Ask the process to end (SIGTERM) if it is still running, remembering that we did:
        a tool that runs workers of its own ends them (``pg_restore --jobs`` cancels their
        queries and stops them; SIGKILL would leave them running)."""
        if self.process.poll() is not None:
            return
        self.killed = True
        self.process.terminate()

    def close_pipes(self) -> None:
        """Close the parent's ends of this stage's stdin and stdout, if it holds any."""
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def wait(self) -> None:
        """Wait for the process to end and, within reason, for its stderr to be drained."""
        self.process.wait()
        self._drain.join(STDERR_JOIN_SECONDS)

    def verdict(self, *, is_reader_ok: bool) -> Verdict:
        """Judge the ended stage; ``is_reader_ok`` says whether what read its stdout succeeded."""
        code = self.process.returncode
        if self.timed_out_after_seconds is not None:
            return Verdict.FAILED
        if code == 0:
            return Verdict.OK
        if self.killed:
            return Verdict.STOPPED
        if code == -signal.SIGPIPE:
            # Its reader closed the pipe: fine if it chose to stop (head -c), not if it died.
            return Verdict.OK if is_reader_ok else Verdict.STOPPED
        return Verdict.FAILED

    def outcome(self) -> str:
        """Say how the process ended: ``exited with code 3``, ``timed out after 1 s``, ..."""
        if self.timed_out_after_seconds is not None:
            return f"timed out after {self.timed_out_after_seconds:g} s"
        code = self.process.returncode
        if code is None:
            return "still running"
        if code >= 0:
            return f"exited with code {code}"
        name = _signal_name(-code)
        return f"was killed by {name}" + (" (by backproof)" if self.killed else "")

    def describe(self, verdict: Verdict, secrets: Iterable[str]) -> str:
        """One masked paragraph: name, argv, outcome, verdict and the stderr tail."""
        hidden = (*secrets, *self.command.masked_values)
        argv = self.command.describe_argv(hidden)
        lines = [f"{self.command.name} [{argv}]: {self.outcome()} ({verdict.value})"]
        tail = mask(self.tail.text(), hidden).rstrip("\n")
        lines.extend(f"    | {line}" for line in tail.splitlines())
        return "\n".join(lines)


def judge(stages: list[Stage], *, is_reader_ok: bool) -> list[Verdict]:
    """Judge each stage from the last, each against how its reader ended."""
    verdicts: list[Verdict] = []
    for stage in reversed(stages):
        verdict = stage.verdict(is_reader_ok=is_reader_ok)
        verdicts.append(verdict)
        is_reader_ok = verdict is Verdict.OK
    return verdicts[::-1]


class Watchdog:
    """Kills every stage still running when ``timeout_seconds`` have passed since the start."""

    def __init__(self, stages: list[Stage], timeout_seconds: float | None) -> None:
        self._timer: threading.Timer | None = None
        if timeout_seconds is None:
            return
        self._timer = threading.Timer(
            timeout_seconds, expire_stages, args=(stages, timeout_seconds)
        )
        self._timer.name = "pipeline watchdog"
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        """Stop the watchdog; if it is firing, wait until it is done."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()


def expire_stages(stages: list[Stage], timeout_seconds: float) -> None:
    """Kill every stage still running, marking it timed out."""
    for stage in stages:
        stage.kill(timed_out_after_seconds=timeout_seconds)


def describe_start_failure(command: Command, error: OSError) -> str:
    """Explain why ``command`` could not start, with an install hint for a missing tool."""
    program = mask(command.argv[0], command.masked_values)
    if isinstance(error, FileNotFoundError):
        if command.cwd is not None and error.filename == command.cwd:
            return f"{command.name}: working directory not found: {command.cwd}"
        return f"{command.name}: executable not found; install {program}"
    if isinstance(error, PermissionError):
        return f"{command.name}: permission denied running {program}"
    return f"{command.name}: cannot start {program}: {error.strerror or error}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
