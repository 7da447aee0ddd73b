"""The chain's hooks: told when a run starts and how it ended, by the run's own outcome."""

from __future__ import annotations

from dataclasses import dataclass, field

from backproof.errors import SourceError
from backproof.jobs.context import ChainOutcome, Context
from backproof.jobs.lifecycle import call_chain_finished, call_chain_started
from backproof.jobs.run import RunResult, StepOutcome, summarize_steps


@dataclass
class Listener:
    """A chain hook that remembers what it was told."""

    heard: list[str] = field(default_factory=list)

    def chain_started(self, _context: Context, target: str) -> None:
        self.heard.append(f"started {target}")

    def chain_finished(self, _context: Context, outcome: ChainOutcome) -> None:
        self.heard.append(f"finished {outcome.target} succeeded={outcome.succeeded}")


class Broken:
    """A chain hook with a bug."""

    def chain_started(self, _context: Context, _target: str) -> None:
        raise RuntimeError("a bug in a hook")

    def chain_finished(self, _context: Context, _outcome: ChainOutcome) -> None:
        raise RuntimeError("a bug in a hook")


def test_summary_names_every_step_and_masks_secrets() -> None:
    result = RunResult(
        "crm",
        [
            StepOutcome("backup", error=SourceError("cannot reach postgresql://u:pw@db/crm")),
            StepOutcome("verify", skipped_because="the backup failed"),
            StepOutcome("health"),
        ],
    )

    assert summarize_steps(result, "failed") == (
        "backproof run of crm\n"
        "backup: failed: cannot reach postgresql://u:***@db/crm\n"
        "verify: skipped (the backup failed)\n"
        "health: ok\n"
        "health verdict: failed"
    )


def test_failing_chain_hook_neither_raises_nor_stops_the_next(memory_context: Context) -> None:
    listener = Listener()
    memory_context.around_chain.extend([Broken(), listener])

    call_chain_started(memory_context, "crm")
    call_chain_finished(memory_context, ChainOutcome("crm", False, "backproof run of crm"))

    assert listener.heard == ["started crm", "finished crm succeeded=False"]
