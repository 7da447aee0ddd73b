"""``--json`` on every command: the click tree is read, and each command either has the option
or is one of the few whose output is not a document (named here with the reason)."""

from __future__ import annotations

import importlib

import click

from backproof.cli.main import cli

REGISTERING_MODULES = (
    "alert_commands",
    "check_commands",
    "doctor_commands",
    "fleet_commands",
    "health_commands",
    "init_command",
    "key_commands",
    "service_commands",
    "setup_commands",
)
WITHOUT_JSON = {
    "metrics": "prints the Prometheus text format, itself a machine format",
    "serve": "a long-running service; its API speaks JSON",
    "worker": "a long-running Celery worker",
}


def leaf_commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Return every command below ``group`` by its full name (``health ack``)."""
    context = click.Context(group)
    commands: dict[str, click.Command] = {}
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        if isinstance(command, click.Group):
            commands |= leaf_commands(command, f"{prefix}{name} ")
        else:
            commands[f"{prefix}{name}"] = command
    return commands


def test_every_command_but_the_services_and_metrics_has_json() -> None:
    for module in REGISTERING_MODULES:
        importlib.import_module(f"backproof.cli.{module}")

    missing = [
        name
        for name, command in leaf_commands(cli).items()
        if name not in WITHOUT_JSON
        and not any("--json" in getattr(param, "opts", []) for param in command.params)
    ]

    assert missing == []
