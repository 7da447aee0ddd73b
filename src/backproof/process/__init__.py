"""The only code in backproof that starts subprocesses: pipelines of commands, and masking.

Build a :class:`Command` (argv tuple, environment, secrets), then run it alone with
:func:`run_command` or chained with others through :func:`read_pipeline` (the caller reads the
last stage's output) or :func:`write_pipeline` (the caller feeds the first stage's input).
Every failure is one PipelineError naming each stage, with secrets masked by :func:`mask`.

The names load on first use: ``backproof.process.liveness``, which every command's state
database needs, comes without subprocess and the pipeline's threads (CLI start-up, issue 12).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backproof.process.commands import Command, mask, with_output_buffer
    from backproof.process.pipeline import read_pipeline, run_command, write_pipeline
    from backproof.process.stopping import Stopper

__all__ = [
    "Command",
    "Stopper",
    "mask",
    "read_pipeline",
    "run_command",
    "with_output_buffer",
    "write_pipeline",
]
_MODULES = {
    "Command": "backproof.process.commands",
    "mask": "backproof.process.commands",
    "Stopper": "backproof.process.stopping",
    "read_pipeline": "backproof.process.pipeline",
    "run_command": "backproof.process.pipeline",
    "write_pipeline": "backproof.process.pipeline",
    "with_output_buffer": "backproof.process.commands",
}


def __getattr__(name: str) -> Any:
    """Load ``name`` from its module on first use."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name]), name)
