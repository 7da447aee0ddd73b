"""A step of a submission that finds a configuration error: refused, and the chain stops."""

from __future__ import annotations

from backproof.errors import ConfigError
from backproof.fleet.steps import exit_code_of, run_step, to_record
from backproof.jobs.context import Context
from backproof.jobs.run import StepOutcome


def test_a_configuration_error_is_recorded_as_refused_with_exit_code_2() -> None:
    error = ConfigError(["at targets[0].password: environment variable X is not set"])

    record = to_record(StepOutcome("backup", error=error))

    assert (record["status"], record["exit_code"]) == ("refused", 2)


def test_the_steps_after_a_refused_one_do_not_run(context: Context) -> None:
    refused = to_record(StepOutcome("backup", error=ConfigError(["at x: wrong"])))

    steps = [refused]
    for job in ("cleanup", "verify", "report", "health"):
        steps.append(run_step(context, job, "crm", steps))

    assert [step["status"] for step in steps[1:]] == ["skipped"] * 4
    assert exit_code_of(steps) == 2
    assert context.activities.find() == []
