"""A target's dump started before the rest of ``backproof backup`` is set up (issue 11 item 6).

The command's imports, its state database, run lock, audit row, signing key and destinations
take most of a second of CPU before a dump could start, while the dump tool and the database
server sit idle. ``backproof backup`` of one target therefore starts the dump first, in a
thread, as soon as the settings are read, and sets up the rest meanwhile. The dump's rows are
digested and its bytes compressed (the target's compression and level, as the part's writer
would) as they come; the compressed output is held in memory until the part is opened
(``sources.prefetch.HeldWriter``: at most 32 MiB, about 190 MB of a PostgreSQL dump at zstd's
default level, never on disk, so no plaintext copy of the dump exists before it is encrypted;
past that the tool waits; a PostgreSQL dump in two streams holds both, each in half of it:
``jobs.early_streams``). When the backup reaches its database part it attaches the part's
writer: the held bytes, then the rest, are encrypted when configured, hashed and stored as
they always were. What is stored is the same.

So are the errors: a dump that fails raises its error where the backup used to start the dump
(inside its audit row); a set-up that fails (a lock another backup holds, a key that cannot be
read, an interrupt) cancels the dump, which kills the dump tool and drops what was held. A
target with before-hooks keeps the old order (its hooks run before the dump), and so does every
backup that is not the one target of a ``backproof backup`` (the scheduler and the fleet run
their jobs in a process already set up).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from backproof.jobs.early_streams import TWO_STREAMS_SHARE, EarlyDataPart, HeldStream

if TYPE_CHECKING:
    from backproof.archive.streams import StreamStage, Writer
    from backproof.config.models import Settings, TargetSettings
    from backproof.sources.base import DatabaseSource, DataPartSink, DumpInfo

logger = logging.getLogger(__name__)

# How long the command waits for the dump's first bytes before it goes on setting up anyway
# (a dump waiting on a lock must not hold the set-up back).
FIRST_BYTES_WAIT_SECONDS = 5.0
# How long a cancelled dump is waited for (it ends at its next chunk; a tool that hangs is
# left to end by SIGPIPE when this process exits).
CANCEL_WAIT_SECONDS = 10.0
# The server engines (a SQLite file is copied in an instant: nothing to overlap).
_EARLY_ENGINES = ("postgresql", "mysql")


class EarlyDump:
    """The dump of one target, running in a thread from before the backup's set-up."""

    def __init__(self, target: TargetSettings, password: str | None, *, share: float = 1.0) -> None:
        self.target = target
        self._password = password
        # ``share``: of the memory a held stream may take, this one's (``early_streams``).
        self._main = HeldStream(target, share=share, is_threaded=True)
        self._sink = self._main.front
        self._data_part = EarlyDataPart(target)
        self._opened = threading.Event()
        self._source: DatabaseSource | None = None
        self._info: DumpInfo | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="early dump", daemon=True)

    def start(self) -> None:
        """Start the dump; wait until its first bytes flow (or it ended, or a few seconds)."""
        self._thread.start()
        self._sink.flowing.wait(FIRST_BYTES_WAIT_SECONDS)

    def source(self) -> DatabaseSource:
        """Return the source being dumped; raise the error that kept it from opening."""
        self._opened.wait()
        if self._source is None:
            raise self._failure()
        return self._source

    @property
    def raw_size_bytes(self) -> int:
        """The bytes of the dump read so far."""
        return self._main.raw_size_bytes

    def compressor_into(self, sink: Writer) -> StreamStage:
        """Send the compressed dump, what was held first, into ``sink`` (the part's writer
        after compression); return the compressor, to close once ``attach`` returned."""
        return self._main.compressor_into(sink)

    def attach_data_part(self, sink: DataPartSink) -> None:
        """Give the dump's second stream, if it has one (``DATA_PART``), the backup's part:
        what it held, then the rest, is stored there from a thread of its own."""
        self._data_part.attach(sink)

    def attach(self, sink: Writer) -> DumpInfo:
        """Wait for the end of the dump, counting its bytes into ``sink`` (a ``PartWriter``
        taking it through ``compressor_into``); return its facts.

        Raises whatever the dump raised (SourceError, PipelineError…), as ``dump`` does.
        """
        self._sink.attach(sink)
        self._thread.join()
        if self._info is None:
            raise self._failure()
        return self._info

    def cancel(self) -> None:
        """Stop the dump unless it ended: its tools are killed, what they held dropped."""
        self._main.cancel()
        self._data_part.cancel()
        self._thread.join(CANCEL_WAIT_SECONDS)
        if self._thread.is_alive():
            logger.warning("the cancelled dump of %s did not stop in time", self.target.name)

    @property
    def is_running(self) -> bool:
        """True while the dump's thread runs (a cancelled dump's, until it has stopped)."""
        return self._thread.is_alive()

    def _failure(self) -> BaseException:
        return self._error or RuntimeError("the early dump ended without a result")

    def _run(self) -> None:
        try:
            from backproof.sources.registry import open_database  # noqa: PLC0415

            try:
                self._source = open_database(self.target.database or "", self._password)
            finally:
                self._opened.set()
            self._info = self._source.dump(
                self._sink, self.target.key_tables, self.target.sample_rows, self._data_part
            )
        except BaseException as exc:  # raised again in the backup's thread, at attach
            self._error = exc
        finally:
            self._sink.flowing.set()


@contextlib.contextmanager
def early_dump(settings: Settings, target_name: str | None) -> Iterator[EarlyDump | None]:
    """Start the dump of the backup's one target before the rest is set up; cancel it if the
    block never attaches it. Yields None (the backup dumps in its own time) for several
    targets, a target without a database or on SQLite, or one with before-hooks, and whenever
    the target or its password cannot be read here (the backup then reports that itself).
    """
    early = _prepare(settings, target_name)
    if early is None:
        yield None
        return
    early.start()
    try:
        yield early
    finally:
        early.cancel()


def _prepare(settings: Settings, target_name: str | None) -> EarlyDump | None:
    from backproof.config.secrets import database_password  # noqa: PLC0415

    if target_name is None and len(settings.targets) != 1:
        return None
    try:
        target = settings.target(target_name)
        if not target.database or target.hooks.before_backup:
            return None
        # Loaded for a target with a database only (the dump loads it anyway).
        from backproof.sources.registry import engine_of  # noqa: PLC0415

        engine = engine_of(target.database)
        if engine not in _EARLY_ENGINES:
            return None
        password = database_password(target, settings.targets.index(target))
    except Exception:  # the backup itself reports the same problem, in its audit row
        return None
    # A PostgreSQL dump may run in two streams, each then held in half the memory.
    share = TWO_STREAMS_SHARE if engine == "postgresql" else 1.0
    return EarlyDump(target, password, share=share)
