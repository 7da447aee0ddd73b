"""Project folders of the frameworks `backproof init` reads, generated for the tests, and the
user's path from `init` to a proven backup."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cli_process import run_backproof


def make_laravel(folder: Path, env: dict[str, str]) -> Path:
    """Write a Laravel-style folder: ``.env``, ``storage/app`` with uploads, a cache and a log."""
    (folder / "storage" / "app" / "public" / "avatars").mkdir(parents=True)
    (folder / "storage" / "app" / "public" / "avatars" / "1.png").write_bytes(b"\x89PNG" * 50)
    (folder / "storage" / "app" / "cache").mkdir()
    (folder / "storage" / "app" / "cache" / "blob").write_bytes(b"cache" * 10)
    (folder / "storage" / "app" / "import.log").write_text("noise\n", encoding="utf-8")
    (folder / "database").mkdir()
    lines = [
        "APP_NAME=Shop",
        "APP_ENV=production",
        *(f"{key}={value}" for key, value in env.items()),
    ]
    (folder / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "artisan").write_text("#!/usr/bin/env php\n", encoding="utf-8")
    return folder


def make_django(folder: Path, database_url: str) -> Path:
    """Write a Django-style folder: ``manage.py``, ``.env`` with DATABASE_URL, ``media``."""
    (folder / "media" / "invoices").mkdir(parents=True)
    (folder / "media" / "invoices" / "2026-001.pdf").write_bytes(b"%PDF-1.7\n")
    (folder / "manage.py").write_text("#!/usr/bin/env python\n", encoding="utf-8")
    (folder / ".env").write_text(f'DATABASE_URL="{database_url}"\n', encoding="utf-8")
    return folder


def make_rails(folder: Path, database_yml: str) -> Path:
    """Write a Rails-style folder: ``config/database.yml`` and Active Storage's ``storage``."""
    (folder / "config").mkdir(parents=True)
    (folder / "config" / "database.yml").write_text(database_yml, encoding="utf-8")
    (folder / "storage" / "ab" / "cd").mkdir(parents=True)
    (folder / "storage" / "ab" / "cd" / "abcd1234").write_bytes(b"blob" * 30)
    (folder / "Gemfile").write_text('source "https://rubygems.org"\n', encoding="utf-8")
    return folder


def init_and_run(
    app: Path, home: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[str, str, str]:
    """Run `init --non-interactive` for ``app`` with its config and data in ``home``, then `run`
    with the written config; return init's output, the config text and run's output."""
    config = home / "etc" / "backproof.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    arguments = ["--config", str(config), "init", "--non-interactive"]
    arguments += ["--app", str(app), "--data-dir", str(home / "data"), *extra]
    created = run_backproof(*arguments, cwd=app, env=env, timeout=120)
    assert created.returncode == 0, created.stderr
    chain = run_backproof("--config", str(config), "run", cwd=home, env=env, timeout=300)
    assert chain.returncode == 0, (chain.stdout, chain.stderr)
    return created.stdout, config.read_text(encoding="utf-8"), chain.stdout


def git_init(folder: Path) -> None:
    """Make ``folder`` a git work tree."""
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
