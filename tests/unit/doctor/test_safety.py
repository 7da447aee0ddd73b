"""Configurations that would hurt are refused before any command runs (issue 9 item 7)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from backproof.config.loading import load_settings
from backproof.config.models import Settings
from backproof.doctor.safety import refuse_dangers
from backproof.errors import ConfigError

CONFIG = """
[[targets]]
database = "sqlite:///crm.db"
files = ["uploads"]

[[destinations]]
url = "file:{destination}"
"""


def write_config(folder: Path, destination: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "backproof.toml"
    path.write_text(CONFIG.format(destination=destination), encoding="utf-8")
    return path


def load_checked(config: Path) -> Settings:
    """Load ``config`` as the CLI does: validated, then refused when a destination would hurt."""
    return refuse_dangers(load_settings(config, environ={}), config)


def git_init(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)


def test_a_destination_inside_a_backed_up_folder_is_refused(tmp_path: Path):
    config = write_config(tmp_path, "uploads/backups")

    with pytest.raises(ConfigError) as caught:
        load_checked(config)

    assert "at destinations[0].url:" in str(caught.value)
    assert "inside targets[0].files[0]" in str(caught.value)


def test_a_destination_in_a_git_work_tree_is_refused_with_the_line_to_add(tmp_path: Path):
    git_init(tmp_path / "app")
    config = write_config(tmp_path / "app" / "ops", "backups")

    with pytest.raises(ConfigError) as caught:
        load_checked(config)

    message = str(caught.value)
    assert "inside the git work tree" in message and "git does not ignore it" in message
    assert f"add the line `/ops/backups/` to {tmp_path / 'app' / '.gitignore'}" in message


def test_a_destination_git_ignores_is_accepted(tmp_path: Path):
    git_init(tmp_path / "app")
    (tmp_path / "app" / ".gitignore").write_text("/ops/backups/\n", encoding="utf-8")
    config = write_config(tmp_path / "app" / "ops", "backups")

    settings = load_checked(config)

    assert settings.destinations[0].url.endswith("/app/ops/backups")


def test_a_destination_outside_any_work_tree_needs_no_git(tmp_path: Path):
    config = write_config(tmp_path / "plain", "backups")

    assert load_checked(config).destinations[0].name == "local"
