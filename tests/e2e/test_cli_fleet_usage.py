"""The fleet's commands on a configuration without a queue: one line, exit 2, nothing run."""

from __future__ import annotations

from cli_user import User


def test_worker_without_a_queue_says_what_to_configure_and_exits_2(user: User) -> None:
    done = user.run("worker")

    assert done.returncode == 2
    assert "no [queue] broker_url in the config" in done.stderr
    assert done.stderr.count("\n") == 1


def test_submit_without_a_queue_runs_nothing_and_exits_2(user: User) -> None:
    done = user.run("submit", "run", "--all")

    assert done.returncode == 2
    assert "no [queue] broker_url in the config" in done.stderr
    assert user.activities() == []


def test_submit_of_an_unknown_job_is_a_usage_error(user: User) -> None:
    done = user.run("submit", "dance")

    assert done.returncode == 2
    assert "'dance' is not one of" in done.stderr
