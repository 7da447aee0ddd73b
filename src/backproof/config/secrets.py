"""Reading secrets from the environment or a file, so they never sit in the config or argv.

``resolve_secrets`` reads the database and verify passwords once, when the configuration loads
(``config.loading``); each is kept on its section as a ``ResolvedSecret`` and revealed by
``database_password`` and ``verify_password`` only when a command uses it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from backproof.config.models import Settings, TargetSettings, VerifySettings
from backproof.config.resolved_secrets import ResolvedSecret, SecretOrigin
from backproof.config.url_pattern import password_in_url
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


def resolve_secrets(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Read every database and verify password now, keeping each (or why it could not be
    read) on its section; nothing raises here."""
    for index, target in enumerate(settings.targets):
        target.keep_password(_resolve_database_password(target, index, environ))
    verify = settings.verify
    verify.keep_password(
        _resolve(verify.password_env, verify.password_file, "verify.password", environ)
    )


def database_password(target: TargetSettings, index: int = 0) -> str | None:
    """Return the password of a target's database: env, file, or the URL itself.

    Raises ConfigError (one line naming the variable or file) when it could not be read.
    """
    resolved = target.resolved_password()
    if resolved is None or resolved.origin != _database_origin(target):
        # Settings built or changed in code since the load: read on first use.
        resolved = _resolve_database_password(target, index, None)
        target.keep_password(resolved)
    return resolved.reveal()


def verify_password(verify: VerifySettings) -> str | None:
    """Return the password of ``verify.url`` from ``verify.password_env``/``password_file``.

    Raises ConfigError (one line naming the variable or file) when it could not be read.
    """
    resolved = verify.resolved_password()
    if resolved is None or resolved.origin != (verify.password_env, verify.password_file, None):
        # Settings built or changed in code since the load: read on first use.
        resolved = _resolve(verify.password_env, verify.password_file, "verify.password", None)
        verify.keep_password(resolved)
    return resolved.reveal()


def _resolve_database_password(
    target: TargetSettings, index: int, environ: Mapping[str, str] | None
) -> ResolvedSecret:
    what = f"targets[{index}].password"
    resolved = _resolve(target.password_env, target.password_file, what, environ)
    origin = _database_origin(target)
    in_url = target.database is not None and "@" in target.database
    if resolved.problem is None and resolved.value is None and in_url:
        return ResolvedSecret(origin, _password_in_url(target.database or ""))
    return ResolvedSecret(origin, resolved.value, resolved.problem)


def _password_in_url(url: str) -> str | None:
    """Return the password written in ``url``, read as SQLAlchemy reads it, without loading
    SQLAlchemy: a backup's dump starts right after the settings load (``jobs.early_dump``), and
    importing it first cost 0.1-0.2 s before pg_dump started (issue 11). A URL the pattern
    cannot read is left to SQLAlchemy, which raises its own error as before."""
    try:
        return password_in_url(url)
    except ValueError:
        from sqlalchemy.engine import make_url  # noqa: PLC0415

        secret = make_url(url).password
        return None if secret is None else str(secret)


def _database_origin(target: TargetSettings) -> SecretOrigin:
    return (target.password_env, target.password_file, target.database)


def _resolve(
    env_name: str | None, file_path: Path | None, what: str, environ: Mapping[str, str] | None
) -> ResolvedSecret:
    origin = (env_name, file_path, None)
    try:
        return ResolvedSecret(origin, read_secret(env_name, file_path, what, environ))
    except ConfigError as exc:
        return ResolvedSecret(origin, problem="; ".join(exc.problems))
