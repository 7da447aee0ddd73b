"""Reading secrets from the environment or a file, so they never sit in the config or argv."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

from backproof.config.models import TargetSettings
from backproof.errors import ConfigError
from backproof.secret_values import remember_secrets


def read_secret(
    env_name: str | None,
    file_path: Path | None,
    what: str,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """Return the secret from ``$env_name`` or the first line of ``file_path``, or None.

    Raises ConfigError when the variable is unset or the file cannot be read.
    """
    environ = os.environ if environ is None else environ
    if env_name:
        if env_name not in environ:
            raise ConfigError([f"at {what}: environment variable {env_name} is not set"])
        remember_secrets([environ[env_name]])
        return environ[env_name]
    if file_path:
        try:
            secret = file_path.read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError) as exc:
            raise ConfigError([f"at {what}: cannot read a password from {file_path}"]) from exc
        remember_secrets([secret])
        return secret
    return None


def database_password(target: TargetSettings, index: int = 0) -> str | None:
    """Return the password of a target's database: env, file, or the URL itself."""
    secret = read_secret(target.password_env, target.password_file, f"targets[{index}].password")
    if secret is None and target.database and "@" in target.database:
        secret = make_url(target.database).password
        secret = None if secret is None else str(secret)
    return secret
