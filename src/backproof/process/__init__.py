"""The only code in backproof that starts subprocesses: pipelines of commands, and masking.

Build a :class:`Command` (argv tuple, environment, secrets), then run it alone with
:func:`run_command` or chained with others through :func:`read_pipeline` (the caller reads the
last stage's output) or :func:`write_pipeline` (the caller feeds the first stage's input).
Every failure is one PipelineError naming each stage, with secrets masked by :func:`mask`.
"""

from backproof.process.commands import Command, mask
from backproof.process.pipeline import read_pipeline, run_command, write_pipeline

__all__ = ["Command", "mask", "read_pipeline", "run_command", "write_pipeline"]
