"""Stopper: pipelines stopped from another thread (one of two concurrent jobs failed)."""

from __future__ import annotations

import threading
import time
from typing import BinaryIO

import pytest

from backproof.errors import PipelineError
from backproof.process import Command, Stopper, run_command, write_pipeline


@pytest.mark.timeout(20)
def test_stop_kills_a_running_command_which_then_raises_saying_why() -> None:
    stopper = Stopper()
    threading.Timer(0.3, stopper.stop, args=("the other restore failed",)).start()
    started = time.monotonic()

    with pytest.raises(PipelineError, match="sleep stopped: the other restore failed"):
        run_command(Command("sleep", ("sleep", "30")), stopper=stopper)

    assert time.monotonic() - started < 10


@pytest.mark.timeout(20)
def test_a_command_started_after_the_stop_is_killed_at_once() -> None:
    stopper = Stopper()
    stopper.stop("first reason")
    stopper.stop("second reason")

    with pytest.raises(PipelineError, match="sleep stopped: first reason"):
        run_command(Command("sleep", ("sleep", "30")), stopper=stopper)


@pytest.mark.timeout(20)
def test_stop_ends_a_write_pipeline_whose_producer_goes_on_writing() -> None:
    stopper = Stopper()

    def produce(feed: BinaryIO) -> None:
        stopper.stop("stopped by the test")
        while True:
            feed.write(b"x" * 65536)

    with pytest.raises(PipelineError, match="cat stopped: stopped by the test"):
        write_pipeline([Command("cat", ("cat",))], produce, stdout=None, stopper=stopper)


def test_a_command_that_ended_before_the_stop_succeeds() -> None:
    stopper = Stopper()

    assert run_command(Command("echo", ("echo", "done")), stopper=stopper) == "done\n"
    stopper.stop("too late")
    assert stopper.stopped
