"""Run subprocess pipelines with every stage watched, judged, and described without secrets.

This is the only place in backproof that starts processes. Stages are chained stdout -> stdin
through OS pipes; the parent keeps no copy of an intermediate pipe, so when a reader dies its
writer gets SIGPIPE (restored in every child) instead of blocking. Each stage's stderr is
drained by its own thread into a bounded tail. Whatever happens to the caller's consume or
produce function, every process is waited for and judged, and one PipelineError lists every
stage (name, masked argv, exit code or signal, stderr tail).

A stage killed by SIGPIPE is not a failure when its reader ended successfully (``yes | head``):
stopping early was the reader's decision. It is reported as stopped when its reader failed.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import IO, BinaryIO, TypeVar, cast

from backproof.errors import PipelineError
from backproof.process.commands import Command, mask
from backproof.process.stages import Stage, StreamArgument, Verdict, Watchdog, judge
from backproof.process.stopping import Stopper
from backproof.process.streams import Feeder, Sink, file_descriptor

T = TypeVar("T")

# After the caller's function raised, stages that are already ending (a failed stage whose
# output just reached EOF) get this long to be reaped and judged before the rest are killed.
ABORT_GRACE_SECONDS = 0.25
# The rest are asked to end (SIGTERM: a tool with workers of its own, ``pg_restore --jobs``,
# then stops them; SIGKILL would leave them loading) and killed when they have not within this.
TERMINATE_GRACE_SECONDS = 2.0


def read_pipeline(
    commands: Sequence[Command],
    consume: Callable[[BinaryIO], T],
    *,
    stdin: BinaryIO | None = None,
    timeout_seconds: float | None = None,
    stopper: Stopper | None = None,
) -> T:
    """Start ``commands`` chained, call ``consume`` on the last stdout, then judge every stage.

    Returns what ``consume`` returned. ``stdin`` feeds the first stage (default: nothing).
    Raises PipelineError when any stage fails, even if ``consume`` succeeded; when a stage
    timed out (``timeout_seconds`` counts from the start); or when an executable is missing.
    When ``consume`` raises, every stage is killed and its exception re-raised, unless a stage
    had failed on its own: then PipelineError is raised from it, the stage being the likely cause.
    ``stopper`` (``process.stopping``) may kill the stages from another thread: PipelineError.
    """
    source = subprocess.DEVNULL if stdin is None else stdin
    pipeline = _Pipeline(
        commands,
        stdin=source,
        stdout=subprocess.PIPE,
        timeout_seconds=timeout_seconds,
        stopper=stopper,
    )
    output = pipeline.last_stdout()
    try:
        result = consume(output)
    except BaseException as error:
        pipeline.abort()
        output.close()
        pipeline.finish(is_consumer_ok=False, cause=error)
        raise
    # Output left unread makes the last stage end by SIGPIPE: consume's choice, not a failure.
    output.close()
    pipeline.finish(is_consumer_ok=True)
    return result


def write_pipeline(
    commands: Sequence[Command],
    produce: Callable[[BinaryIO], None],
    *,
    stdout: BinaryIO | None = None,
    timeout_seconds: float | None = None,
    may_stop_reading: bool = False,
    stopper: Stopper | None = None,
) -> bytes:
    """Start ``commands`` chained, call ``produce`` on the first stdin, close it, judge all.

    Returns the last 64 KiB of the last stage's stdout when ``stdout`` is None; otherwise
    streams that output into ``stdout`` and returns ``b""``.
    Raises PipelineError when any stage fails or times out, when an executable is missing, or
    when the first stage stops reading before ``produce`` is done (broken pipe; unless
    ``may_stop_reading``: a first stage that picks what it needs, as ``pg_restore --table``,
    may end early and succeed). When
    ``produce`` raises anything else, stages are killed and its exception re-raised (or
    PipelineError raised from it when a stage had failed on its own). ``stopper``: as for
    :func:`read_pipeline`.
    """
    pipeline = _Pipeline(
        commands,
        stdin=subprocess.PIPE,
        stdout=stdout,
        timeout_seconds=timeout_seconds,
        stopper=stopper,
    )
    feed = pipeline.first_stdin()
    try:
        produce(feed)
        feed.close()
    except BrokenPipeError as error:
        _close_quietly(feed)
        pipeline.finish(is_consumer_ok=True, cause=error)
        if may_stop_reading:
            return pipeline.captured()
        # Every stage succeeded, yet the first one left part of the input unread.
        first = pipeline.stages[0]
        summary = f"{first.command.name} stopped reading its input before the end (broken pipe)"
        raise pipeline.error(summary) from error
    except BaseException as error:
        pipeline.abort()
        _close_quietly(feed)
        pipeline.finish(is_consumer_ok=True, cause=error)
        raise
    pipeline.finish(is_consumer_ok=True)
    return pipeline.captured()


def run_command(
    command: Command,
    *,
    timeout_seconds: float | None = None,
    input_bytes: bytes | None = None,
    stopper: Stopper | None = None,
) -> str:
    """Run one command to completion and return its stdout decoded as UTF-8 (errors replaced).

    Meant for commands with a small output (versions, short queries): the whole stdout is
    returned. Raises PipelineError when it fails, times out, or its executable is missing
    (``<name>: executable not found; install <argv[0]>``), or a ``stopper`` stopped it.
    """
    stdin = None if input_bytes is None else io.BytesIO(input_bytes)
    output = read_pipeline(
        [command], _read_all, stdin=stdin, timeout_seconds=timeout_seconds, stopper=stopper
    )
    return output.decode("utf-8", errors="replace")


class _Pipeline:
    """Stages started and chained stdout -> stdin, with their watchdog and helper threads.

    ``stdin`` is PIPE (the caller writes), DEVNULL, or a stream; ``stdout`` is PIPE (the
    caller reads), None (captured by a Sink), or a stream.
    """

    def __init__(
        self,
        commands: Sequence[Command],
        *,
        stdin: IO[bytes] | int,
        stdout: IO[bytes] | int | None,
        timeout_seconds: float | None,
        stopper: Stopper | None = None,
    ) -> None:
        if not commands:
            raise ValueError("a pipeline needs at least one command")
        self.secrets = tuple(secret for command in commands for secret in command.masked_values)
        self.verdicts: list[Verdict] = []
        stdin_argument, feed_source = _route_input(stdin)
        stdout_argument, needs_sink = _route_output(stdout)
        self.stages = _start_stages(commands, stdin_argument, stdout_argument)
        self._feeder = None if feed_source is None else Feeder(feed_source, self.first_stdin())
        sink_target = None if isinstance(stdout, int) else stdout
        self._sink = Sink(self.last_stdout(), sink_target) if needs_sink else None
        self._watchdog = Watchdog(self.stages, timeout_seconds)
        self._stopper = stopper
        if stopper is not None:
            stopper.register(self.stages)

    def first_stdin(self) -> BinaryIO:
        """The parent's end of the first stage's stdin (only when started with PIPE)."""
        return cast(BinaryIO, _required(self.stages[0].process.stdin, "stdin"))

    def last_stdout(self) -> BinaryIO:
        """The parent's end of the last stage's stdout (only when started with PIPE)."""
        return cast(BinaryIO, _required(self.stages[-1].process.stdout, "stdout"))

    def captured(self) -> bytes:
        """The last 64 KiB of output captured by the sink, or empty."""
        return b"" if self._sink is None else self._sink.captured()

    def abort(self) -> None:
        """Give stages already ending a moment to be reaped, ask the rest to end, then kill
        what still runs."""
        self._reap_within(ABORT_GRACE_SECONDS)
        for stage in self.stages:
            stage.terminate()
        self._reap_within(TERMINATE_GRACE_SECONDS)
        for stage in self.stages:
            stage.kill()

    def _reap_within(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for stage in self.stages:
            with contextlib.suppress(subprocess.TimeoutExpired):
                stage.process.wait(max(0.0, deadline - time.monotonic()))

    def finish(self, *, is_consumer_ok: bool, cause: BaseException | None = None) -> None:
        """Wait for every stage and helper thread, judge the stages, raise on failure.

        Raises PipelineError (from ``cause`` when given) when a stage failed; otherwise the
        error of a feeder or sink thread, if any, unless ``cause`` is a more telling error.
        """
        for stage in self.stages:
            stage.wait()
        self._watchdog.cancel()
        if self._stopper is not None:
            self._stopper.unregister(self.stages)
        helpers = [helper for helper in (self._feeder, self._sink) if helper is not None]
        for helper in helpers:
            helper.join()
        is_reader_ok = is_consumer_ok and (self._sink is None or self._sink.is_ok)
        self.verdicts = judge(self.stages, is_reader_ok=is_reader_ok)
        if Verdict.FAILED in self.verdicts:
            if cause is None:
                raise self.error()
            if isinstance(cause, Exception):  # never swallow KeyboardInterrupt or SystemExit
                raise self.error() from cause
        stopped = self._stopped_summary()
        if stopped and (cause is None or isinstance(cause, Exception)):
            raise self.error(stopped) from cause
        helper_errors = [helper.error for helper in helpers if helper.error is not None]
        # A helper that failed (e.g. the output file is full) stops its stage, which breaks the
        # pipe the caller writes to: the helper's error is then the one that explains.
        if helper_errors and (cause is None or isinstance(cause, BrokenPipeError)):
            raise helper_errors[0]

    def _stopped_summary(self) -> str:
        """Say which stages the stopper killed, and why; empty when it killed none."""
        if self._stopper is None or not self._stopper.stopped:
            return ""
        judged = zip(self.stages, self.verdicts, strict=True)
        names = [stage.command.name for stage, verdict in judged if verdict is Verdict.STOPPED]
        if not any(stage.killed for stage in self.stages) or not names:
            return ""
        return f"{', '.join(names)} stopped: {self._stopper.reason}"

    def error(self, summary: str | None = None) -> PipelineError:
        """A PipelineError describing every stage; by default its summary names the failed ones."""
        judged = list(zip(self.stages, self.verdicts, strict=True))
        descriptions = [stage.describe(verdict, self.secrets) for stage, verdict in judged]
        if summary is None:
            failed = [stage for stage, verdict in judged if verdict is Verdict.FAILED]
            summary = self._summarize(failed)
        lines = [summary]
        lines.extend(
            f"  {line}" for description in descriptions for line in description.splitlines()
        )
        return PipelineError("\n".join(lines), descriptions)

    def _summarize(self, failed: list[Stage]) -> str:
        """Say what failed: ``dump exited with code 3: <last stderr line>``.

        Stages that timed out are grouped: every stage still running then is killed and
        listed, and which of them hung cannot be told from outside.
        """
        timed_out = [stage for stage in failed if stage.timed_out_after_seconds is not None]
        phrases = [self._summarize_stage(stage) for stage in failed if stage not in timed_out]
        if timed_out:
            names = ", ".join(stage.command.name for stage in timed_out)
            phrases.append(f"{names} {timed_out[0].outcome()}")
        return "; ".join(phrases)

    def _summarize_stage(self, stage: Stage) -> str:
        hidden = (*self.secrets, *stage.command.masked_values)
        last_lines = mask(stage.tail.text(), hidden).strip().splitlines()
        detail = f": {last_lines[-1].strip()}" if last_lines else ""
        return f"{stage.command.name} {stage.outcome()}{detail}"


def _start_stages(
    commands: Sequence[Command], stdin: StreamArgument, stdout: StreamArgument
) -> list[Stage]:
    """Start every command, each reading the previous one's stdout; all or none."""
    stages: list[Stage] = []
    try:
        for index, command in enumerate(commands):
            upstream = stages[-1].process.stdout if stages else stdin
            is_last = index == len(commands) - 1
            downstream = stdout if is_last else subprocess.PIPE
            stages.append(Stage.start(command, stdin=upstream, stdout=downstream))
            if index > 0:
                # The parent keeps no copy of an intermediate pipe: a dead reader stops the writer.
                _close_quietly(_required(stages[-2].process.stdout, "stdout"))
    except BaseException:
        for stage in stages:
            stage.kill()
            stage.close_pipes()
        for stage in stages:
            stage.wait()
        raise
    return stages


def _route_input(stdin: IO[bytes] | int) -> tuple[StreamArgument, IO[bytes] | None]:
    """The first stage's stdin argument, and the stream a Feeder must copy when it needs one."""
    if isinstance(stdin, int):
        return stdin, None
    descriptor = file_descriptor(stdin)
    if descriptor is None:
        return subprocess.PIPE, stdin
    return descriptor, None


def _route_output(stdout: IO[bytes] | int | None) -> tuple[StreamArgument, bool]:
    """The last stage's stdout argument, and whether a Sink must read it."""
    if isinstance(stdout, int):
        return stdout, False
    if stdout is None:
        return subprocess.PIPE, True
    descriptor = file_descriptor(stdout)
    if descriptor is None:
        return subprocess.PIPE, True
    stdout.flush()  # what the caller wrote before must land before what the stage writes
    return descriptor, False


def _required(stream: IO[bytes] | None, which: str) -> IO[bytes]:
    if stream is None:
        raise ValueError(f"the stage's {which} is not a pipe")
    return stream


def _close_quietly(stream: IO[bytes]) -> None:
    """Close a pipe whose reader may be gone (flushing it would raise BrokenPipeError)."""
    with contextlib.suppress(OSError):
        stream.close()


def _read_all(stream: BinaryIO) -> bytes:
    return stream.read()
