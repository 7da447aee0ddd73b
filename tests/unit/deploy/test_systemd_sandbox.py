"""The shipped systemd units and server config agree: every path the config writes is writable
under the units' sandbox (ProtectSystem=strict, ReadWritePaths, StateDirectory, PrivateTmp)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from backproof.config.loading import resolve_paths
from backproof.config.models import Settings
from backproof.demo import CONFIG_TEMPLATE
from backproof.jobs.files_store import cache_dir
from backproof.jobs.keyring import generated_key_path
from backproof.sources.sqlite import sqlite_path
from backproof.storage.registry import local_path

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "systemd"
UNITS = ["backproof.service", "backproof-run.service", "backproof-worker@.service"]
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
    """Return every path a backproof of ``settings`` creates or writes, named by its key, as
    the jobs themselves derive them (the state folder is the lock folder's parent)."""
    paths = {
        "state.lock_dir": settings.state.lock_dir,
        "report.output": settings.report.output,
        "files store caches": cache_dir(settings),
    }
    if settings.encryption.signing_key_file is None:
        paths["the generated signing key"] = generated_key_path(settings)
    if settings.encryption.address_key_file is not None:
        paths["encryption.address_key_file"] = settings.encryption.address_key_file
    if settings.verify.spool_dir is not None:
        paths["verify.spool_dir"] = settings.verify.spool_dir
    for url, key in [(settings.state.url, "state.url"), (settings.verify.url, "verify.url")]:
        if url is not None and url.startswith("sqlite:"):
            paths[key] = sqlite_path(url)
    if settings.verify.url is None and any(
        (target.database or "").startswith("sqlite:") for target in settings.targets
    ):
        paths["verify's SQLite scratch copies"] = settings.state.lock_dir.parent / "verify"
    for index, destination in enumerate(settings.destinations):
        if destination.url.startswith("file:"):
            paths[f"destinations[{index}].url"] = local_path(destination.url)
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


# Each setting of the shipped config moved outside the units' sandbox, and what it makes
# unwritable (the state folder, the lock folder's parent, holds the keys and the caches).
OUTSIDE = [
    (
        "state.lock_dir",
        "/run/backproof/locks",
        {"state.lock_dir", "files store caches", "the generated signing key"},
    ),
    ("destinations.url", "file:///srv/backups", {"destinations[0].url"}),
    ("report.output", "/srv/reports/report.md", {"report.output"}),
    ("verify.spool_dir", "/srv/spool", {"verify.spool_dir"}),
    ("encryption.address_key_file", "address.key", {"encryption.address_key_file"}),
    ("verify.url", "sqlite:////srv/scratch", {"verify.url"}),
]


def shipped_settings_with(key: str, value: str) -> Settings:
    """Return the settings of the shipped server config in /etc/backproof with ``key`` (a
    section and a name; the first destination for ``destinations``) set to ``value``."""
    raw = tomllib.loads((DEPLOY / "backproof.toml").read_text("utf-8"))
    section, name = key.split(".")
    table = raw[section][0] if section == "destinations" else raw.setdefault(section, {})
    table[name] = value
    return resolve_paths(Settings.model_validate(raw), CONFIG_FOLDER)


@pytest.mark.parametrize(("key", "value", "caught"), OUTSIDE)
@pytest.mark.parametrize("unit", UNITS)
def test_a_path_written_outside_the_sandbox_is_caught(
    unit: str, key: str, value: str, caught: set[str]
) -> None:
    settings = shipped_settings_with(key, value)
    roots = writable_roots(service_directives(DEPLOY / unit))

    assert set(unwritable(settings, roots)) == caught
