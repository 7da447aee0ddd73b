"""A history that settles: setup mistakes are not runs, failures can be acknowledged, a young
installation is pending rather than warning, and an app without the CRM's tables backs up."""

from __future__ import annotations

import sqlite3

from cli_user import User

STRICT_RATES = {"BACKPROOF_HEALTH__MIN_RUNS": "1"}


def unset_password(user: User) -> None:
    """Make the demo's target read its password from a variable that is not set."""
    config = user.demo.config
    config.write_text(
        config.read_text("utf-8").replace(
            'name = "crm"', 'name = "crm"\npassword_env = "BP_TEST_UNSET_PASSWORD"'
        ),
        "utf-8",
    )


def test_configuration_error_in_a_backup_exits_2_and_records_nothing(user: User) -> None:
    unset_password(user)

    process = user.run("backup")

    assert process.returncode == 2
    assert "BP_TEST_UNSET_PASSWORD is not set" in process.stderr
    assert user.audit_rows("backup") == []
    assert list(user.backups.rglob("*")) == []


def test_configuration_error_in_a_run_exits_2_and_records_no_job_at_all(user: User) -> None:
    unset_password(user)

    process = user.run("run")
    as_json = user.run("run", "--json")

    for ran in (process, as_json):
        assert ran.returncode == 2
        assert ran.stderr.strip().splitlines() == [
            "backproof: error: at targets[0].password: environment variable "
            "BP_TEST_UNSET_PASSWORD is not set"
        ]
    assert user.activities() == []
    assert list(user.backups.rglob("*")) == []


def test_health_ack_settles_failures_so_far_and_is_recorded(user: User) -> None:
    user.backup()
    user.demo.database.rename(user.demo.database.with_suffix(".moved"))
    assert user.run("backup").returncode == 1
    user.demo.database.with_suffix(".moved").rename(user.demo.database)
    user.backup()
    assert user.run("health", env=STRICT_RATES).returncode == 1

    output = user.ok("health", "ack", "--reason", "moved the database by mistake")
    process = user.run("health", "--json", env=STRICT_RATES)

    assert output.strip() == "acknowledged 1 failed run(s) of crm: success rates count from now"
    assert process.returncode == 0, process.stdout
    (ack,) = user.audit_rows("ack")
    assert ack["message"] == "moved the database by mistake"
    assert ack["meta"]["reason"] == "moved the database by mistake"


def test_health_ack_without_a_reason_exits_2(user: User) -> None:
    process = user.run("health", "ack", "--reason", " ")

    assert process.returncode == 2
    assert "--reason" in process.stderr
    assert user.audit_rows("ack") == []


def test_one_failure_among_the_first_runs_is_pending_not_warning(user: User) -> None:
    user.demo.database.rename(user.demo.database.with_suffix(".moved"))
    assert user.run("backup").returncode == 1
    user.demo.database.with_suffix(".moved").rename(user.demo.database)
    user.backup()

    checks = {check["name"]: check for check in user.json("health")["targets"][0]["checks"]}

    assert checks["backup_success_rate"]["status"] == "pending"
    assert "judged from 3 runs on" in checks["backup_success_rate"]["message"]


def test_first_backup_of_an_app_without_the_crm_tables_succeeds(user: User) -> None:
    app = user.demo.folder / "shop.db"
    with sqlite3.connect(app) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)")
        connection.execute("INSERT INTO orders (total) VALUES (42)")
    connection.close()
    config = user.demo.config
    text = config.read_text("utf-8").replace('key_tables = ["companies", "contacts"]\n', "")
    config.write_text(text.replace("crm.db", "shop.db"), "utf-8")

    backup_id = user.backup()

    assert user.ok("verify").startswith(f"verify passed: backup {backup_id}")
