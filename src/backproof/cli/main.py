"""The command line: parse, call one job, render text or ``--json``; map errors to exit codes.

Exit codes: 0 success, 1 the job ran and failed (an activity says why), 2 usage or
configuration error (nothing was run). Errors are one line on stderr; ``--debug`` adds the
traceback.

Start-up: the modules of ``cli/`` import at their top only click and what costs nothing; a
command imports its job (and with it pydantic, SQLAlchemy, the engines, HTTP clients) in its
body, so ``--help`` and ``list`` pay only for what they use (issue 12; a test in
``tests/e2e/test_cli_startup.py`` keeps it so).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from backproof import __version__
from backproof.errors import BackproofError, ConfigError, NotFoundError, UsageError
from backproof.pydantic_plugins import disable_pydantic_plugins

if TYPE_CHECKING:
    from backproof.config.models import Settings
    from backproof.jobs.context import Context

T = TypeVar("T")


@dataclass
class Invocation:
    """The global options, and the context built from them on first use."""

    config: str | None
    debug: bool
    _context: Context | None = None
    _settings: Settings | None = None

    def settings(self) -> Settings:
        """Return the validated settings, loaded once (ConfigError when invalid)."""
        if self._settings is None:
            from backproof.config.loading import find_config_path, load_settings  # noqa: PLC0415
            from backproof.doctor.safety import refuse_dangers  # noqa: PLC0415 - git on demand

            path = find_config_path(self.config, os.environ)
            self._settings = refuse_dangers(load_settings(path), path)
        return self._settings

    def context(self, *, open_state_now: bool = True) -> Context:
        """Return the job context, built once; its state database is opened (and migrated)
        now, or with ``open_state_now=False`` at its first use (``Context.activities``)."""
        if self._context is None:
            from backproof.after_run import after_run_hooks, chain_hooks  # noqa: PLC0415
            from backproof.jobs.context import open_context  # noqa: PLC0415

            settings = self.settings()
            self._context = open_context(
                settings,
                after_run=after_run_hooks(settings),
                around_chain=chain_hooks(),
                open_state_now=open_state_now,
            )
        return self._context

    def close(self) -> None:
        """Close what the command opened (the state database's connections)."""
        if self._context is not None:
            self._context.close()


pass_invocation = click.make_pass_decorator(Invocation)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    metavar="FILE",
    help="Config file (default ./backproof.toml or $BACKPROOF_CONFIG).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(__version__, prog_name="backproof")
@click.pass_context
def cli(click_context: click.Context, config: str | None, debug: bool) -> None:
    """backproof: daily backups of a web application's data, proven by a real restore."""
    invocation = Invocation(config, debug or bool(os.environ.get("BACKPROOF_DEBUG")))
    click_context.obj = invocation
    click_context.call_on_close(invocation.close)


def emit(data: Any, text: str, as_json: bool) -> None:
    """Print one JSON document or the text for people, every known secret masked."""
    import json  # noqa: PLC0415 - a light --help (issue 12)

    from backproof.secret_values import mask_secrets  # noqa: PLC0415 - a light --help

    click.echo(mask_secrets(json.dumps(data, ensure_ascii=False, indent=2) if as_json else text))


def target_lookup(settings: Settings, name: str | None) -> None:
    """Raise UsageError when ``--target`` names no configured target."""
    if name is not None and name not in [target.name for target in settings.targets]:
        known = ", ".join(target.name for target in settings.targets)
        raise UsageError(f"no target {name!r} in the config (targets: {known})")


def destination_lookup(settings: Settings, name: str | None) -> None:
    """Raise UsageError when ``--from`` names no configured destination."""
    if name is not None and name not in [item.name for item in settings.destinations]:
        known = ", ".join(item.name for item in settings.destinations)
        raise UsageError(f"no destination {name!r} in the config (destinations: {known})")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the documented code."""
    import backproof.cli.alert_commands  # noqa: PLC0415 - registers alert (issue 5)
    import backproof.cli.check_commands  # noqa: PLC0415 - registers check (issue 11)
    import backproof.cli.doctor_commands  # noqa: PLC0415 - registers doctor (issue 9)
    import backproof.cli.fleet_commands  # noqa: PLC0415 - registers worker and submit (issue 15)
    import backproof.cli.health_commands  # noqa: PLC0415 - registers health (and the commands)
    import backproof.cli.init_command  # noqa: PLC0415 - registers init
    import backproof.cli.key_commands  # noqa: PLC0415 - registers keys (issue 9)
    import backproof.cli.service_commands  # noqa: PLC0415 - registers serve
    import backproof.cli.setup_commands  # noqa: F401, PLC0415 - registers setup (issue 9)

    disable_pydantic_plugins()  # before the first model is built (backproof.pydantic_plugins)
    debug = "--debug" in (argv if argv is not None else sys.argv) or bool(
        os.environ.get("BACKPROOF_DEBUG")
    )
    # SIGTERM (systemctl stop, timeout, docker stop) ends a job like Ctrl-C: its uploads are
    # aborted and its audit row finished, instead of the process vanishing mid-write.
    signal.signal(signal.SIGTERM, _interrupt)
    code = run_cli(argv, debug)
    # The command is done (its output written, its files and state committed): what it loaded
    # is left to the process's end. Without this, the interpreter's last garbage collections at
    # exit walk every object of the loaded libraries, 0.1-0.3 s of CPU after a backup (issue 11).
    gc.freeze()
    sys.exit(code)


def _interrupt(_signal_number: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_cli(argv: list[str] | None, debug: bool) -> int:
    """Run the CLI; return the exit code instead of exiting."""
    try:
        outcome = cli.main(args=argv, prog_name="backproof", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        # Click turns Ctrl-C (and our SIGTERM) into Abort when not in standalone mode.
        click.echo("backproof: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"backproof: {exc.format_message()}", err=True)
        return 2
    except BackproofError as exc:
        _print_error(exc, debug)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("backproof: interrupted", err=True)
        return 130
    except Exception as exc:
        _print_error(exc, debug, prefix="internal error: ")
        return 1
    return outcome if isinstance(outcome, int) else 0


def _print_error(exc: BaseException, debug: bool, prefix: str = "") -> None:
    if debug:
        import traceback  # noqa: PLC0415 - a light --help (issue 12)

        traceback.print_exception(exc)
    from backproof.secret_values import mask_secrets  # noqa: PLC0415 - a light --help

    if isinstance(exc, ConfigError) and len(exc.problems) > 1:
        # One line per problem, each whole: a person reads a list, a script greps a line.
        where = f"{exc.source}: " if exc.source else ""
        for problem in exc.problems:
            line = mask_secrets(" ".join(problem.split()))
            click.echo(f"backproof: error: {where}{line}", err=True)
        return
    message = " ".join(str(exc).split()) if not isinstance(exc, NotFoundError) else str(exc)
    click.echo(f"backproof: error: {prefix}{mask_secrets(message)}", err=True)


def call_job(invocation: Invocation, job: Callable[[Context], T]) -> T:
    """Run a job with the invocation's context."""
    return job(invocation.context())


def resolve_path(value: str | None) -> Path | None:
    """Return an absolute path of a command-line path (relative to the working directory)."""
    return None if value is None else Path(value).absolute()
