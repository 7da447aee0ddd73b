"""Loading the config: TOML file, environment overrides, validation, relative paths resolved.

Environment variables override keys: ``BACKPROOF_<KEY>__<KEY>…`` with ``__`` between levels
and list positions as numbers, e.g. ``BACKPROOF_STATE__URL`` or ``BACKPROOF_TARGETS__0__DATABASE``.
Values are read as TOML values when they parse as one (``5``, ``true``, ``["a"]``), else as text.
``ALERT_SLACK_WEBHOOK`` sets ``alerts.slack.webhook_url``, as in the original specification.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from pydantic import ValidationError

from backproof.config.models import Settings
from backproof.config.secrets import resolve_secrets
from backproof.errors import ConfigError
from backproof.secret_values import remember_secrets, secrets_of, secrets_of_environment

ENV_PREFIX = "BACKPROOF_"
NOT_OVERRIDES = {"BACKPROOF_CONFIG", "BACKPROOF_DEBUG"}
DEFAULT_CONFIG_NAME = "backproof.toml"


def find_config_path(given: str | None, environ: Mapping[str, str]) -> Path:
    """Return the config file: ``--config``, else ``$BACKPROOF_CONFIG``, else ./backproof.toml."""
    return Path(given or environ.get("BACKPROOF_CONFIG") or DEFAULT_CONFIG_NAME).absolute()


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, override, validate and resolve the config at ``path``.

    The CLI then refuses destinations that would hurt (``backproof.doctor.safety``).

    Raises ConfigError listing every problem as ``at <key>: <message>``.
    """
    environ = os.environ if environ is None else environ
    if not path.is_file():
        raise ConfigError(
            [
                f"no config file at {path}: run `backproof init` in your application's "
                "folder to write one, `backproof demo` for a sample, or pass --config FILE"
            ]
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"not valid TOML: {exc}"], str(path)) from exc
    problems = apply_environment(raw, environ)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(problems + format_validation_errors(exc), str(path)) from exc
    if problems:
        raise ConfigError(problems, str(path))
    remember_secrets([*secrets_of(settings), *secrets_of_environment(environ)])
    settings = resolve_paths(settings, path.parent)
    resolve_secrets(settings, environ)
    return settings


def format_validation_errors(error: ValidationError) -> list[str]:
    """Return one ``at <key>: <message>`` per problem pydantic found."""
    problems = []
    for item in error.errors():
        location = ""
        for part in item["loc"]:
            location += (
                f"[{part}]" if isinstance(part, int) else (f".{part}" if location else str(part))
            )
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"at {location or '(top)'}: {message}")
    return problems


def apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> list[str]:
    """Write ``BACKPROOF_…`` overrides into ``raw``; return problems with their names."""
    problems: list[str] = []
    if environ.get("ALERT_SLACK_WEBHOOK"):
        slack = raw.setdefault("alerts", {}).setdefault("slack", {})
        slack["webhook_url"] = environ["ALERT_SLACK_WEBHOOK"]
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in NOT_OVERRIDES:
            continue
        keys = [key.lower() for key in name.removeprefix(ENV_PREFIX).split("__")]
        try:
            _set_path(raw, keys, _parse_value(environ[name]))
        except (KeyError, IndexError, TypeError) as exc:
            problems.append(f"at {name}: cannot override {'.'.join(keys)}: {exc}")
    return problems


def _set_path(node: Any, keys: list[str], value: Any) -> None:
    for position, key in enumerate(keys):
        last = position == len(keys) - 1
        if isinstance(node, list):
            index = int(key) if key.isdigit() else -1
            if not 0 <= index < len(node):
                raise IndexError(f"no item {key} in the list")
            if last:
                node[index] = value
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            node = node.setdefault(key, {})
        else:
            raise TypeError(f"{key!r} is under a value, not a table")


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def resolve_paths(settings: Settings, base: Path) -> Settings:
    """Make every relative path and ``sqlite:``/``file:`` URL absolute against ``base``."""
    settings.state.url = resolve_url(settings.state.url, base)
    settings.state.lock_dir = base / settings.state.lock_dir
    for target in settings.targets:
        target.database = target.database and resolve_url(target.database, base)
        target.files = [base / path for path in target.files]
        target.password_file = target.password_file and base / target.password_file
        target.hooks.cwd = base / (target.hooks.cwd or ".")
    for destination in settings.destinations:
        destination.url = resolve_url(destination.url, base)
    settings.verify.url = settings.verify.url and resolve_url(settings.verify.url, base)
    settings.verify.password_file = (
        settings.verify.password_file and base / settings.verify.password_file
    )
    settings.verify.spool_dir = settings.verify.spool_dir and base / settings.verify.spool_dir
    encryption = settings.encryption
    encryption.identity_file = encryption.identity_file and base / encryption.identity_file
    encryption.signing_key_file = encryption.signing_key_file and base / encryption.signing_key_file
    encryption.address_key_file = encryption.address_key_file and base / encryption.address_key_file
    settings.report.output = base / settings.report.output
    return settings


def resolve_url(url: str, base: Path) -> str:
    """Return ``url`` with a relative SQLite or file path made absolute against ``base``.

    ``sqlite:///rel/path`` is relative and ``sqlite:////abs/path`` absolute (SQLAlchemy's rule);
    ``file:rel/path`` is relative and ``file:///abs/path`` absolute (RFC 8089).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        path = unquote(parts.path)
        absolute = path[1:] if path.startswith("//") else str(base / path.lstrip("/"))
        # Quoted, so that a folder named like "C# projects?" is not read as a fragment or query.
        return f"{parts.scheme}:////{quote(absolute.lstrip('/'))}"
    if scheme == "file":
        path = unquote(parts.path)
        absolute = path if path.startswith("/") else str(base / path)
        return f"file://{quote(absolute)}"
    return url
