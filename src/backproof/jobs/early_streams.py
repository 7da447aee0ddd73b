"""The streams of a dump started before its backup has opened its parts (``jobs.early_dump``).

Each is compressed as it comes, with the part's compression and level, and what is compressed
is held in memory (``HeldWriter``) until the part's writer is attached: never on disk, so no
plaintext copy of the dump exists before it is encrypted. A dump in two streams (PostgreSQL,
``sources.postgresql_streams``) holds both, each in half of the memory one stream may hold, so
that the second stream runs from the start too rather than waiting for the backup's set-up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from backproof.archive.streams import StreamStage, open_compressor
from backproof.errors import StreamStoppedError
from backproof.sources.prefetch import HeldWriter

if TYPE_CHECKING:
    from backproof.archive.streams import Precompressed, Writer
    from backproof.config.models import TargetSettings
    from backproof.sources.base import DataPartSink

# The share of the held memory (``prefetch.SPOOL_BYTES``) each stream of a dump in two gets.
TWO_STREAMS_SHARE = 0.5


class HeldStream:
    """One stream compressed as it is produced and held until its part is attached
    (``Precompressed``): ``front`` is what the dump writes into."""

    def __init__(self, target: TargetSettings, *, share: float, is_threaded: bool) -> None:
        self._held = HeldWriter(share)
        self._compressor = open_compressor(
            target.compression, target.compression_level, self._held, is_threaded=is_threaded
        )
        self.front = Front(self._compressor)

    @property
    def raw_size_bytes(self) -> int:
        """The bytes of the dump read so far."""
        return self.front.size_bytes

    def compressor_into(self, sink: Writer) -> StreamStage:
        """Send the compressed stream, what was held first, into ``sink`` (the part's writer
        after compression); return the compressor, to close once the stream ended."""
        self._held.attach(sink)
        return self._compressor

    def cancel(self) -> None:
        """Drop what is held: every later write raises (the dump's tool is then killed)."""
        self._held.cancel()


class Front:
    """What the dump writes into: every chunk is compressed (into the held memory, then the
    part) and counted; once the part's writer is attached, each chunk is also counted there
    (its progress)."""

    def __init__(self, compressor: StreamStage) -> None:
        self._compress = compressor.write
        self._part: Writer | None = None
        self.size_bytes = 0
        self.flowing = threading.Event()

    def write(self, data: bytes, /) -> int:
        self._compress(data)
        self.size_bytes += len(data)
        self.flowing.set()
        part = self._part
        if part is not None:
            part.write(data)
        return len(data)

    def attach(self, part: Writer) -> None:
        self._part = part


class EarlyDataPart:
    """The second part of an early dump in two streams (``DataPartSink``).

    The dump's second stream, when it has one, writes here from the start (``write``, on the
    stream's thread), held like the first. Once the stream has begun and the backup has given
    its part (``attach``), whichever comes last, a thread of its own writes that part (the held
    bytes, then the rest): a dump in one stream opens no second part. ``write`` returns once
    the part is stored, or raises what failed. ``cancel``: the backup stopped before it
    attached the part.
    """

    def __init__(self, target: TargetSettings) -> None:
        # One compressing thread: the first stream's part has zstd's workers already.
        self._stream = HeldStream(target, share=TWO_STREAMS_SHARE, is_threaded=False)
        self._lock = threading.Lock()
        self._began = False
        self._sink: DataPartSink | None = None
        self._produced = threading.Event()
        self._stored = threading.Event()
        self._store: threading.Thread | None = None
        self._error: BaseException | None = None
        self._store_error: BaseException | None = None

    def write(
        self, produce: Callable[[Writer], None], precompressed: Precompressed | None = None
    ) -> None:
        """Run the stream into the held memory, then the part; return once it is stored."""
        with self._lock:
            self._began = True
            self._start_store()
        try:
            produce(self._stream.front)
        except BaseException as error:
            self._error = error
            raise
        finally:
            self._produced.set()
            with self._lock:
                store = self._store
            if store is not None:
                store.join()
        self._stored.wait()
        if self._store_error is not None:
            raise self._store_error
        if self._store is None:
            raise StreamStoppedError("the backup stopped before it stored the dump's second part")

    def attach(self, sink: DataPartSink) -> None:
        """Store the stream as ``sink``'s part, from a thread of its own, once it has begun."""
        with self._lock:
            self._sink = sink
            self._start_store()

    def cancel(self) -> None:
        """Give the stream up: what it holds is dropped, its tool killed, ``write`` raises."""
        self._stream.cancel()
        with self._lock:
            if self._store is None:  # otherwise the part's thread ends as the stream fails
                self._stored.set()

    def _start_store(self) -> None:
        """Start the part's thread once the stream began and the part was given (under the
        lock; once)."""
        if self._began and self._sink is not None and self._store is None:
            self._store = threading.Thread(
                target=self._write_part, args=(self._sink,), name="second part", daemon=True
            )
            self._store.start()

    def _write_part(self, sink: DataPartSink) -> None:
        try:
            sink.write(self._until_produced, precompressed=self._stream)
        except BaseException as error:  # raised by ``write``, in the stream's thread
            self._store_error = error
        finally:
            self._stored.set()

    def _until_produced(self, part: Writer) -> None:
        self._stream.front.attach(part)
        self._produced.wait()
        if self._error is not None:
            raise StreamStoppedError(f"the dump's second stream failed: {self._error}")
