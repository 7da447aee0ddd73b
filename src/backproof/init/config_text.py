"""The commented TOML that ``init`` writes: every value absolute, no password in it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from backproof.units import format_size_bytes

DEFAULT_EXCLUDES = ("*.log", "cache", "sessions", "tmp")


@dataclass(frozen=True)
class ConfigPlan:
    """What ``init`` decided; rendered by ``render_config``."""

    framework: str
    app_folder: Path
    name: str
    database_url: str
    password_file: Path | None
    password_env: str | None
    files: Sequence[Path]
    key_tables: Sequence[str]
    largest_tables: Sequence[tuple[str, int, int]]
    """Name, rows and size in bytes (0 where the engine gives no cheap size) of the largest."""
    destination_url: str
    data_folder: Path


def toml_string(value: str) -> str:
    """Return ``value`` as a TOML basic string."""
    return json.dumps(value, ensure_ascii=False)


def toml_list(values: Sequence[str]) -> str:
    """Return a TOML array of strings."""
    return "[" + ", ".join(toml_string(value) for value in values) + "]"


def render_config(plan: ConfigPlan) -> str:
    """Return the config text, each section with a comment saying why it is so."""
    return "\n".join([*_header(plan), *_state(plan), *_target(plan), *_rest(plan)]) + "\n"


def _header(plan: ConfigPlan) -> list[str]:
    return [
        f"# backproof configuration of the {plan.framework} application in {plan.app_folder},",
        "# written by `backproof init`. Every key is described in the README's configuration",
        "# reference. Paths are absolute: backproof may run from anywhere (cron, systemd).",
        "",
    ]


def _state(plan: ConfigPlan) -> list[str]:
    state_url = f"sqlite:///{plan.data_folder / 'state.db'}"
    return [
        "[state]",
        "# The audit trail of every run, and the run locks: keep them where they survive.",
        f"url = {toml_string(state_url)}",
        f"lock_dir = {toml_string(str(plan.data_folder / 'locks'))}",
        "",
    ]


def _target(plan: ConfigPlan) -> list[str]:
    lines = [
        "[[targets]]",
        f"name = {toml_string(plan.name)}",
        f"database = {toml_string(plan.database_url)}",
    ]
    if plan.password_file is not None:
        lines += [
            "# The password is not in this file: it is read from this private file (0600).",
            f"password_file = {toml_string(str(plan.password_file))}",
        ]
    elif plan.password_env is not None:
        lines += [
            "# The password is not in this file: it is read from this environment variable.",
            f"password_env = {toml_string(plan.password_env)}",
        ]
    if plan.files:
        lines += [
            "# The uploaded files the application keeps; logs, caches, sessions and temporary",
            "# folders are left out (glob patterns: a name anywhere, or a path from the folder).",
            f"files = {toml_list([str(path) for path in plan.files])}",
            f"exclude = {toml_list(DEFAULT_EXCLUDES)}",
        ]
    lines.append("# Tables whose sampled rows verify compares one by one (every table is counted).")
    if plan.largest_tables:
        largest = ", ".join(
            f"{name} ({rows} rows" + (f", {format_size_bytes(size)})" if size else ")")
            for name, rows, size in plan.largest_tables
        )
        lines.append(f"# The largest tables: {largest}.")
    return [*lines, f"key_tables = {toml_list(plan.key_tables)}", ""]


def _rest(plan: ConfigPlan) -> list[str]:
    return [
        "[[destinations]]",
        "# The first destination is the primary: verify reads from it. Add an S3 destination",
        '# (url = "s3://bucket/prefix") for a copy off this machine.',
        'name = "local"',
        f"url = {toml_string(plan.destination_url)}",
        "",
        "[report]",
        f"output = {toml_string(str(plan.data_folder / 'report' / 'backup-report.md'))}",
    ]
