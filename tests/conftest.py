"""Shared fixtures: a sample CRM made by ``backproof demo``, its settings, its job context, and
the CLI run as a user runs it (a subprocess in the demo's folder)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backproof.config.loading import load_settings
from backproof.config.models import Settings
from backproof.demo import DemoLayout, create_demo
from backproof.jobs.context import Context, open_context
from backproof.secret_values import forget_secrets
from cli_process import run_backproof

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """Each test starts with no remembered secrets (one test's password masks nothing later)."""
    yield
    forget_secrets()


@pytest.fixture
def demo(tmp_path: Path) -> DemoLayout:
    """A small sample CRM with its config, in a folder of its own."""
    return create_demo(tmp_path / "crm", companies=40)


@pytest.fixture
def settings(demo: DemoLayout) -> Settings:
    """The demo's settings, loaded as the CLI loads them (without environment overrides)."""
    return load_settings(demo.config, environ={})


@pytest.fixture
def context(settings: Settings) -> Iterator[Context]:
    """A job context on the demo's state database."""
    context = open_context(settings)
    yield context
    context.activities.engine.dispose()


@pytest.fixture
def run_cli(demo: DemoLayout) -> CliRunner:
    """Run ``backproof ARGS…`` in the demo's folder; return the finished process."""

    def run(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return run_backproof(*args, cwd=cwd or demo.folder, env=env, timeout=timeout)

    return run
