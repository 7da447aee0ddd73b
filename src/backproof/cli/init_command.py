"""``backproof init``: write a commented config for an existing application."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import click

from backproof.cli.commands import JSON_OPTION
from backproof.cli.invocation_name import command_to_run
from backproof.cli.main import Invocation, cli, emit, pass_invocation


@cli.command()
@click.option(
    "--app", "app_folder", default=".", show_default=True, help="The application's folder."
)
@click.option("--database", "database_url", metavar="URL", help="Database URL (else detected).")
@click.option(
    "--password-env", metavar="VAR", help="Read the password from this variable at run time."
)
@click.option("--destination", metavar="DIR", help="Folder of the backups (outside git).")
@click.option("--data-dir", metavar="DIR", help="Folder of state, locks and report.")
@click.option("--name", metavar="NAME", help="Target name (default: the folder's name).")
@click.option("--non-interactive", is_flag=True, help="Ask nothing; take the proposals.")
@click.option("--force", is_flag=True, help="Replace an existing config.")
@JSON_OPTION
@pass_invocation
def init(
    invocation: Invocation,
    app_folder: str,
    database_url: str | None,
    password_env: str | None,
    destination: str | None,
    data_dir: str | None,
    name: str | None,
    non_interactive: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Write a commented config for an existing application (Laravel, Django, Rails, a URL)."""
    from backproof.init.writing import InitRequest, run_init  # noqa: PLC0415

    config_path = Path(invocation.config or os.environ.get("BACKPROOF_CONFIG") or "backproof.toml")
    request = InitRequest(
        app_folder=Path(app_folder).absolute(),
        config_path=config_path.absolute(),
        name=name,
        database_url=database_url,
        password_env=password_env,
        destination=Path(destination).expanduser().absolute() if destination else None,
        data_folder=Path(data_dir).expanduser().absolute() if data_dir else None,
        force=force,
    )
    ask = None if non_interactive or as_json else _ask  # a JSON document asks nothing
    result = run_init(request, ask)
    config = shlex.quote(str(result.config_path))
    next_command = f"{command_to_run()} --config {config} run"
    lines = [
        f"{result.framework} application: {len(result.tables)} tables",
        f"key tables: {', '.join(result.key_tables) or 'none'}",
    ]
    if result.password_file is not None:
        lines.append(f"password written to {result.password_file} (0600), not to the config")
    lines += [f"config written to {result.config_path}", f"next: {next_command}"]
    document = {
        "config": str(result.config_path),
        "framework": result.framework,
        "tables": [table.name for table in result.tables],
        "key_tables": result.key_tables,
        "password_file": str(result.password_file) if result.password_file else None,
        "next": next_command,
    }
    emit(document, "\n".join(lines), as_json)


def _ask(question: str, proposal: str) -> str:
    return str(click.prompt(question, default=proposal, show_default=True))
