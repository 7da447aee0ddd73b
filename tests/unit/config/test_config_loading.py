"""Loading the config: validation errors that name their key, overrides, relative paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from backproof.config.loading import load_settings, resolve_url
from backproof.errors import ConfigError
from backproof.sources.sqlite import sqlite_path
from backproof.state.database import to_sqlalchemy_url

MINIMAL = """
[[targets]]
name = "crm"
database = "sqlite:///crm.db"

[[destinations]]
name = "local"
url = "file:backups"
"""


def write_config(folder: Path, text: str) -> Path:
    """Write ``text`` as backproof.toml in ``folder``; return its path."""
    path = folder / "backproof.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    """Return the problems ConfigError lists for ``path``."""
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ or {})
    return caught.value.problems


def test_load_settings_names_the_key_when_a_value_is_wrong(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL.replace('name = "crm"', 'name = "crm"\nkey_tables = 5'))

    problems = load_problems(path)

    assert len(problems) == 1
    assert problems[0].startswith("at targets[0].key_tables: ")


def test_load_settings_lists_every_problem_when_several_keys_are_wrong(tmp_path: Path) -> None:
    text = MINIMAL.replace('url = "file:backups"', 'url = "ftp://example/backups"')
    text = text.replace('name = "crm"', 'name = "Not A Name"\nsample_rows = 0')
    path = write_config(tmp_path, text + "\n[retention]\nkeep_all_days = -1\n")

    problems = load_problems(path)

    keys = sorted(problem.split(":")[0] for problem in problems)
    assert keys == [
        "at destinations[0].url",
        "at retention.keep_all_days",
        "at targets[0].name",
        "at targets[0].sample_rows",
    ]


def test_load_settings_rejects_an_unknown_key_naming_it(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL.replace('name = "crm"', 'name = "crm"\nkey_table = []'))

    problems = load_problems(path)

    assert problems == ["at targets[0].key_table: Extra inputs are not permitted"]


def test_load_settings_rejects_an_unknown_section_naming_it(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL + "\n[retension]\nkeep_all_days = 3\n")

    problems = load_problems(path)

    assert problems == ["at retension: Extra inputs are not permitted"]


def test_load_settings_names_the_target_when_it_has_nothing_to_back_up(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL.replace('database = "sqlite:///crm.db"', ""))

    problems = load_problems(path)

    assert problems == ["at targets[0]: a target needs `database`, `files` or both"]


def test_load_settings_reports_the_file_when_toml_is_malformed(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL + "\n[state\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})

    assert str(path) in str(caught.value)
    assert "not valid TOML" in str(caught.value)
    assert caught.value.exit_code == 2


def test_load_settings_reports_a_missing_file_with_the_way_out(tmp_path: Path) -> None:
    problems = load_problems(tmp_path / "absent.toml")

    assert "backproof demo" in problems[0]


def test_state_url_override_replaces_the_file_value(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL)

    settings = load_settings(path, {"BACKPROOF_STATE__URL": "sqlite:////srv/state.db"})

    assert settings.state.url == "sqlite:////srv/state.db"


def test_target_database_override_replaces_the_list_item(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL)

    settings = load_settings(path, {"BACKPROOF_TARGETS__0__DATABASE": "sqlite:///other.db"})

    assert settings.targets[0].database == f"sqlite:///{tmp_path}/other.db"


def test_number_override_is_read_as_a_toml_value(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL)

    settings = load_settings(path, {"BACKPROOF_RETENTION__DEBRIS_MIN_AGE_HOURS": "0"})

    assert settings.retention.debris_min_age_hours == 0


def test_override_of_a_missing_list_item_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL)

    problems = load_problems(path, {"BACKPROOF_TARGETS__3__DATABASE": "sqlite:///x.db"})

    assert len(problems) == 1
    assert problems[0].startswith("at BACKPROOF_TARGETS__3__DATABASE: ")


def test_invalid_override_is_an_error_naming_the_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL)

    problems = load_problems(path, {"BACKPROOF_STATE__LOCK_WAIT_SECONDS": "-5"})

    assert [problem.split(":")[0] for problem in problems] == ["at state.lock_wait_seconds"]


def test_alert_slack_webhook_sets_the_slack_webhook_url(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL)

    settings = load_settings(path, {"ALERT_SLACK_WEBHOOK": "https://hooks.example/T1/B2/x"})

    webhook = settings.alerts.slack.webhook_url
    assert webhook is not None
    assert webhook.get_secret_value() == "https://hooks.example/T1/B2/x"


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    text = MINIMAL.replace('name = "crm"', 'name = "crm"\nfiles = ["storage/uploads"]')
    path = write_config(folder, text)

    settings = load_settings(path, {})

    target = settings.targets[0]
    assert target.database == f"sqlite:///{folder}/crm.db"
    assert target.files == [folder / "storage" / "uploads"]
    assert settings.destinations[0].url == f"file://{folder}/backups"
    assert settings.state.url == f"sqlite:///{folder}/.backproof/state.db"
    assert settings.report.output == folder / "docs" / "16-generated" / "backup-report.md"


def test_absolute_paths_stay_as_written(tmp_path: Path) -> None:
    text = MINIMAL.replace("sqlite:///crm.db", "sqlite:////srv/crm.db")
    path = write_config(tmp_path, text.replace("file:backups", "file:///srv/backups"))

    settings = load_settings(path, {})

    assert settings.targets[0].database == "sqlite:////srv/crm.db"
    assert settings.destinations[0].url == "file:///srv/backups"


def test_resolve_url_leaves_server_urls_alone(tmp_path: Path) -> None:
    url = "postgresql://backup@db.internal:5432/crm"

    assert resolve_url(url, tmp_path) == url


def test_password_in_a_rejected_url_is_masked_in_the_error(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, MINIMAL.replace("sqlite:///crm.db", "oracle://scott:tiger@db/crm")
    )

    problems = load_problems(path)

    assert "tiger" not in problems[0]
    assert problems[0].startswith("at targets[0].database: ")


def test_relative_sqlite_path_in_a_folder_with_url_characters_reads_back(tmp_path: Path) -> None:
    folder = tmp_path / "C# projekty? 100% č"
    folder.mkdir()

    settings = load_settings(write_config(folder, MINIMAL), {})

    assert settings.targets[0].database is not None
    assert sqlite_path(settings.targets[0].database) == folder / "crm.db"
    assert to_sqlalchemy_url(settings.state.url).database == str(folder / ".backproof/state.db")


def test_postgres_url_as_django_and_heroku_write_it_is_read_as_postgresql(tmp_path: Path) -> None:
    text = MINIMAL.replace("sqlite:///crm.db", "postgres://app@db.internal:5432/app")

    settings = load_settings(write_config(tmp_path, text), {})

    assert settings.targets[0].database == "postgresql://app@db.internal:5432/app"


def test_unsupported_storage_url_offers_only_what_a_user_may_write(tmp_path: Path) -> None:
    text = MINIMAL.replace('url = "file:backups"', 'url = "ftp://example/backups"')

    (problem,) = load_problems(write_config(tmp_path, text))

    assert "expected one of file://, s3://" in problem
    assert "memory" not in problem
