"""Secrets are read once, when the configuration loads; a command that needs none never fails
for one (issue 10 item 4)."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from backproof.config.loading import load_settings
from backproof.config.secrets import database_password, verify_password
from backproof.errors import ConfigError
from backproof.secret_values import mask_secrets

CONFIG = """
[[targets]]
name = "crm"
database = "postgresql://backproof@127.0.0.1:1/crm"
password_file = "secrets/db-password"

[[destinations]]
name = "local"
url = "file:backups"

[verify]
url = "postgresql://verifier@127.0.0.1:1/postgres"
password_env = "VERIFY_PASSWORD_OF_THIS_TEST"
"""


def write_config(folder: Path, password: str | None) -> Path:
    """Write the config, and the password file when ``password`` is given; return the config."""
    if password is not None:
        (folder / "secrets").mkdir()
        (folder / "secrets" / "db-password").write_text(password + "\n", encoding="utf-8")
    path = folder / "backproof.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_password_file_is_read_at_load_and_not_again(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, "FirstPassword1"), {})
    (tmp_path / "secrets" / "db-password").write_text("SecondPassword2\n", encoding="utf-8")

    assert database_password(settings.targets[0]) == "FirstPassword1"


def test_password_read_at_load_is_masked_before_any_command_uses_it(tmp_path: Path) -> None:
    password = "Loaded" + secrets.token_hex(8)

    load_settings(write_config(tmp_path, password), {})

    assert mask_secrets(f"the server said: bad password {password}") == (
        "the server said: bad password ***"
    )


def test_missing_password_file_loads_and_fails_only_where_it_is_used(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, None), {"VERIFY_PASSWORD_OF_THIS_TEST": "v"})

    with pytest.raises(ConfigError) as caught:
        database_password(settings.targets[0])

    missing = tmp_path / "secrets" / "db-password"
    assert caught.value.problems == [
        f"at targets[0].password: cannot read a password from {missing}"
    ]
    assert verify_password(settings.verify) == "v"


def test_unset_variable_of_the_verify_password_is_named_when_verify_needs_it(
    tmp_path: Path,
) -> None:
    settings = load_settings(write_config(tmp_path, "APassword99"), {})

    with pytest.raises(ConfigError, match="environment variable VERIFY_PASSWORD_OF_THIS_TEST"):
        verify_password(settings.verify)
    assert database_password(settings.targets[0]) == "APassword99"


URLS_WITH_A_USER = (
    "postgresql://backproof@127.0.0.1:5432/crm",
    "postgresql+psycopg://app:s%40cr%3At@db.example/crm?sslmode=require",
    "mariadb://user:pa:ss@[::1]:3307/my%20db",
    "mysql://u:@h/d",
    "postgresql://app:hunter2@h:54x2/crm",  # a port SQLAlchemy cannot read: its own error
)


@pytest.mark.parametrize("url", URLS_WITH_A_USER)
def test_a_password_written_in_the_url_is_the_one_sqlalchemy_reads(
    tmp_path: Path, url: str
) -> None:
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    path = tmp_path / "backproof.toml"
    path.write_text(CONFIG.replace("postgresql://backproof@127.0.0.1:1/crm", url), "utf-8")
    path.write_text(path.read_text("utf-8").replace('password_file = "secrets/db-password"\n', ""))
    try:
        expected: str | None = make_url(url).password
    except ValueError as error:
        with pytest.raises(type(error)):
            load_settings(path, {})
        return

    settings = load_settings(path, {})

    assert database_password(settings.targets[0]) == expected


def test_a_password_in_the_url_is_read_without_loading_sqlalchemy(tmp_path: Path) -> None:
    path = tmp_path / "backproof.toml"
    url = "postgresql://app:s%40cr%3At@db.example/crm"
    path.write_text(CONFIG.replace("postgresql://backproof@127.0.0.1:1/crm", url), "utf-8")
    path.write_text(path.read_text("utf-8").replace('password_file = "secrets/db-password"\n', ""))
    program = (
        "import sys\n"
        "from pathlib import Path\n"
        "from backproof.config.loading import load_settings\n"
        "from backproof.config.secrets import database_password\n"
        f"settings = load_settings(Path({str(path)!r}), {{}})\n"
        "print(database_password(settings.targets[0]), 'sqlalchemy' in sys.modules)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )

    assert shown.stdout.split() == ["s@cr:t", "False"]
