"""backproof's process runs without pydantic plugins; the processes it starts keep the user's
environment (``backproof.pydantic_plugins``)."""

from __future__ import annotations

import os

import pytest

from backproof import pydantic_plugins
from backproof.process import Command, run_command
from backproof.pydantic_plugins import VARIABLE, child_environment, disable_pydantic_plugins

PRINT_VARIABLE = Command("sh", ("sh", "-c", f'printf %s "${{{VARIABLE}-unset}}"'))


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pydantic_plugins, "_SET_HERE", set())
    monkeypatch.delenv(VARIABLE, raising=False)


def test_disable_pydantic_plugins_sets_the_variable_when_the_user_did_not() -> None:
    disable_pydantic_plugins()

    assert os.environ[VARIABLE] == "__all__"


def test_processes_started_after_disabling_do_not_inherit_the_variable() -> None:
    disable_pydantic_plugins()

    assert VARIABLE not in child_environment()
    assert run_command(PRINT_VARIABLE) == "unset"


@pytest.mark.parametrize("value", ["", "__all__", "logfire"])
def test_the_users_own_setting_is_kept_for_backproof_and_its_processes(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(VARIABLE, value)

    disable_pydantic_plugins()

    assert os.environ[VARIABLE] == value
    assert child_environment()[VARIABLE] == value
    assert run_command(PRINT_VARIABLE) == value
