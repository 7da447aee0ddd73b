"""Threads that move bytes between a caller's stream and a stage when no file descriptor can.

A stream with a real file descriptor is handed to the stage directly; these threads serve the
others (``io.BytesIO``, wrappers) and the bounded capture of a last stage's output. Both copy in
chunks, so memory stays flat whatever flows through.

Internal to :mod:`backproof.process`.
"""

from __future__ import annotations

import contextlib
import threading
from typing import IO

CHUNK_BYTES = 64 * 1024
CAPTURE_BYTES = 64 * 1024
# The stages have ended when these threads are joined; a bounded join only guards against a
# grandchild process that kept a pipe open.
JOIN_SECONDS = 5.0


def file_descriptor(stream: IO[bytes]) -> int | None:
    """Return the stream's file descriptor, or None when it has none (``io.BytesIO``)."""
    try:
        return stream.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return None


class Feeder:
    """Copies ``source`` into a stage's stdin on a thread, then closes that stdin."""

    def __init__(self, source: IO[bytes], target: IO[bytes]) -> None:
        self.error: Exception | None = None
        self._source = source
        self._target = target
        self._thread = threading.Thread(target=self._run, name="stdin feeder", daemon=True)
        self._thread.start()

    def join(self) -> None:
        """Wait, within reason, for the copy to end."""
        self._thread.join(JOIN_SECONDS)

    def _run(self) -> None:
        try:
            for chunk in iter(lambda: self._source.read(CHUNK_BYTES), b""):
                self._target.write(chunk)
        except BrokenPipeError:
            pass  # the stage stopped reading; its exit status is judged on its own
        except Exception as error:  # kept, and raised by the caller's thread
            self.error = error
        finally:
            with contextlib.suppress(OSError):
                self._target.close()


class Sink:
    """Reads a stage's stdout on a thread into ``target``, or keeps its last CAPTURE_BYTES.

    When writing to ``target`` fails, the sink closes the stage's stdout so the stage stops
    (SIGPIPE) instead of blocking forever, and keeps the error for the pipeline to raise.
    """

    def __init__(self, source: IO[bytes], target: IO[bytes] | None) -> None:
        self.error: Exception | None = None
        self._source = source
        self._target = target
        self._captured = bytearray()
        self._thread = threading.Thread(target=self._run, name="stdout sink", daemon=True)
        self._thread.start()

    @property
    def is_ok(self) -> bool:
        """True unless writing to the target failed."""
        return self.error is None

    def captured(self) -> bytes:
        """Return the last CAPTURE_BYTES read (empty when streaming into a target)."""
        return bytes(self._captured)

    def join(self) -> None:
        """Wait, within reason, for the stage's stdout to reach its end."""
        self._thread.join(JOIN_SECONDS)

    def _run(self) -> None:
        try:
            for chunk in iter(lambda: self._source.read(CHUNK_BYTES), b""):
                self._keep(chunk)
        except Exception as error:  # kept, and raised by the caller's thread
            self.error = error
        finally:
            with contextlib.suppress(OSError):
                self._source.close()

    def _keep(self, chunk: bytes) -> None:
        if self._target is not None:
            self._target.write(chunk)
            return
        self._captured += chunk
        if len(self._captured) > CAPTURE_BYTES:
            del self._captured[: len(self._captured) - CAPTURE_BYTES]
