"""The shipped systemd units and server config agree: every path the config writes is writable
under the units' sandbox (ProtectSystem=strict, ReadWritePaths, StateDirectory, PrivateTmp)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from backproof.config.loading import resolve_paths
from backproof.config.models import Settings
from backproof.demo import CONFIG_TEMPLATE
from backproof.sources.sqlite import sqlite_path

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "systemd"
UNITS = ["backproof.service", "backproof-run.service"]
CONFIG_FOLDER = Path("/etc/backproof")
# systemd's own folders for StateDirectory=, CacheDirectory=, LogsDirectory=, RuntimeDirectory=.
MANAGED_FOLDERS = {
    "StateDirectory": Path("/var/lib"),
    "CacheDirectory": Path("/var/cache"),
    "LogsDirectory": Path("/var/log"),
    "RuntimeDirectory": Path("/run"),
}


def service_directives(unit: Path) -> dict[str, list[str]]:
    """Return the [Service] section of a unit: each directive with its values, in order."""
    directives: dict[str, list[str]] = {}
    section = ""
    for raw_line in unit.read_text(encoding="utf-8").splitlines():
        line = raw_line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service":
            name, _, value = line.partition("=")
            directives.setdefault(name.strip(), []).append(value.strip())
    return directives


def writable_roots(directives: dict[str, list[str]]) -> list[Path]:
    """Return the folders a service of these directives may write under ProtectSystem=strict."""
    assert directives.get("ProtectSystem") == ["strict"], "the units keep the system read-only"
    roots = [
        Path(word.lstrip("-+"))
        for value in directives.get("ReadWritePaths", [])
        for word in value.split()
    ]
    for directive, parent in MANAGED_FOLDERS.items():
        roots += [
            parent / name for value in directives.get(directive, []) for name in value.split()
        ]
    if directives.get("PrivateTmp") == ["yes"]:
        roots += [Path("/tmp"), Path("/var/tmp")]  # noqa: S108 - the unit's private /tmp
    return roots


def written_paths(settings: Settings) -> dict[str, Path]:
    """Return every path a backproof of ``settings`` creates or writes, named by its key."""
    paths = {
        "state.lock_dir": settings.state.lock_dir,
        "report.output": settings.report.output,
    }
    if settings.state.url.startswith("sqlite:"):
        paths["state.url"] = sqlite_path(settings.state.url)
    for index, destination in enumerate(settings.destinations):
        if destination.url.startswith("file:"):
            paths[f"destinations[{index}].url"] = Path(destination.url.removeprefix("file://"))
    return paths


def unwritable(settings: Settings, roots: list[Path]) -> dict[str, Path]:
    """Return the written paths that lie under none of ``roots``."""
    return {
        key: path
        for key, path in written_paths(settings).items()
        if not any(path.is_relative_to(root) for root in roots)
    }


def settings_at(text: str, folder: Path) -> Settings:
    """Return the settings of a config ``text`` as if it were a file in ``folder``."""
    return resolve_paths(Settings.model_validate(tomllib.loads(text)), folder)


@pytest.mark.parametrize("unit", UNITS)
def test_shipped_server_config_writes_only_where_the_unit_allows(unit: str) -> None:
    settings = settings_at((DEPLOY / "backproof.toml").read_text("utf-8"), CONFIG_FOLDER)
    roots = writable_roots(service_directives(DEPLOY / unit))

    assert unwritable(settings, roots) == {}
    assert Path("/var/lib/backproof") in roots


@pytest.mark.parametrize("unit", UNITS)
def test_relative_paths_of_a_config_in_etc_are_caught_as_unwritable(unit: str) -> None:
    settings = settings_at(CONFIG_TEMPLATE, CONFIG_FOLDER)
    roots = writable_roots(service_directives(DEPLOY / unit))

    caught = unwritable(settings, roots)

    assert set(caught) >= {"state.url", "state.lock_dir", "report.output"}
    assert all(path.is_relative_to(CONFIG_FOLDER) for path in caught.values())
