"""The daily commands as a user runs them: backup, list, verify, activities, health, metrics."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from cli_user import User
from prometheus_client.parser import text_string_to_metric_families

from backproof.units import format_size_bytes

SPEC_METRICS = (
    "crm_ops_last_db_dump_age_minutes",
    "crm_ops_last_verify_restore_age_hours",
    "crm_ops_backup_success_rate_7d",
    "crm_ops_verify_success_rate_7d",
    "crm_ops_restore_duration_seconds_last",
)


def is_utc_iso(text: str) -> bool:
    """Return True for an ISO 8601 time with a zero UTC offset."""
    moment = datetime.fromisoformat(text)
    return moment.utcoffset() == timedelta(0)


def test_backup_prints_only_the_new_id_on_stdout(user: User) -> None:
    process = user.run("backup")

    assert process.returncode == 0, process.stderr
    lines = process.stdout.splitlines()
    assert len(lines) == 1
    assert (user.backups / "crm" / lines[0] / "manifest.json").is_file()


def test_list_json_shows_committed_backups_newest_first(user: User) -> None:
    first = user.backup()
    second = user.backup()

    backups = user.json("list")["backups"]

    assert [item["id"] for item in backups] == sorted([first, second], reverse=True)
    item = backups[0]
    assert {"id", "target", "created_at", "size_bytes", "parts", "verified"} <= set(item)
    assert item["target"] == "crm"
    assert item["size_bytes"] > 0
    assert is_utc_iso(item["created_at"])
    assert [part["name"] for part in item["parts"]] == ["db", "files"]
    assert item["verified"] is False


def test_list_shows_the_size_the_backup_printed(user: User) -> None:
    printed = user.json("backup")["outcomes"][0]["result"]

    listed = user.json("list")["backups"][0]
    text = user.ok("list")

    assert listed["size_bytes"] == printed["size_bytes"]
    assert listed["size_bytes"] == sum(part["size_bytes"] for part in printed["parts"])
    assert format_size_bytes(printed["size_bytes"]) in text


def test_list_marks_a_verified_backup_with_when(user: User) -> None:
    older = user.backup()
    newest = user.backup()
    user.ok("verify")

    backups = {item["id"]: item for item in user.json("list")["backups"]}

    assert backups[newest]["verified"] is True
    assert is_utc_iso(backups[newest]["verified_at"])
    assert backups[older]["verified"] is False


def test_list_shows_the_latest_proof_failed_after_a_pass(user: User) -> None:
    backup_id = user.backup()
    user.ok("verify")
    part = user.part(backup_id, "db.sqlite.zst")
    part.write_bytes(part.read_bytes()[:-1])
    assert user.run("verify").returncode == 1

    (item,) = user.json("list")["backups"]
    text = user.ok("list")

    assert item["proof"]["result"] == "failed"
    assert is_utc_iso(item["proof"]["at"])
    assert text.splitlines()[0].split() == ["ID", "TARGET", "CREATED", "SIZE", "LATEST", "PROOF"]
    assert "failed 20" in text.splitlines()[1]


def test_list_says_never_verified_before_any_proof(user: User) -> None:
    user.backup()

    (item,) = user.json("list")["backups"]

    assert item["proof"] == {"result": "never", "at": None, "depth": None}
    assert user.ok("list").splitlines()[1].endswith("never verified")


def test_verify_passes_and_says_what_matched(user: User) -> None:
    backup_id = user.backup()

    output = user.ok("verify")

    assert f"verify passed: backup {backup_id}" in output
    assert "4 tables" in output


def test_activities_json_has_the_contract_shape_newest_first(user: User) -> None:
    backup_id = user.backup()
    user.ok("verify")

    activities = user.activities()

    assert [item["job"] for item in activities] == ["verify", "backup"]
    item = activities[1]
    keys = {
        "id",
        "job",
        "target",
        "status",
        "started_at",
        "finished_at",
        "duration_ms",
        "message",
        "meta",
    }
    assert keys <= set(item)
    assert item["status"] == "success"
    assert item["target"] == "crm"
    assert backup_id in item["message"]
    assert is_utc_iso(item["started_at"])
    assert is_utc_iso(item["finished_at"])
    # The times are to the second: the duration lies within a second of their difference.
    elapsed_ms = (
        datetime.fromisoformat(item["finished_at"]) - datetime.fromisoformat(item["started_at"])
    ).total_seconds() * 1000
    assert item["duration_ms"] > 0 and abs(item["duration_ms"] - elapsed_ms) < 1000


def test_activities_filter_by_job(user: User) -> None:
    user.backup()
    user.ok("verify")

    assert [item["job"] for item in user.activities("verify")] == ["verify"]


def test_health_is_pending_and_exits_0_before_any_backup(user: User) -> None:
    process = user.run("health", "--json")

    assert process.returncode == 0, process.stderr
    assert '"status": "pending"' in process.stdout


def test_health_json_has_the_contract_shape_and_is_ok_after_a_run(user: User) -> None:
    user.ok("run")

    document = user.json("health")

    assert document["status"] == "ok"
    (target,) = document["targets"]
    assert (target["target"], target["status"]) == ("crm", "ok")
    names = [check["name"] for check in target["checks"]]
    assert {"rpo", "backup_success_rate", "verify_success_rate"} <= set(names)
    for check in target["checks"]:
        assert set(check) >= {"name", "status", "value", "threshold", "message"}


def test_health_exits_1_after_a_failed_verify(user: User) -> None:
    backup_id = user.backup()
    part = user.part(backup_id, "db.sqlite.zst")
    part.write_bytes(part.read_bytes()[:-1])
    assert user.run("verify").returncode == 1

    process = user.run("health", "--json")

    assert process.returncode == 1
    assert '"status": "warning"' in process.stdout


def test_metrics_prints_the_five_metrics_with_the_target_label(user: User) -> None:
    user.ok("run")

    families = {
        family.name: family for family in text_string_to_metric_families(user.ok("metrics"))
    }

    for name in SPEC_METRICS:
        (sample,) = families[name].samples
        assert sample.labels == {"target": "crm"}, name
    assert families["crm_ops_backup_success_rate_7d"].samples[0].value == 1.0


def test_run_chains_every_job_in_order_and_writes_the_report(user: User) -> None:
    output = user.ok("run")

    assert len(output.splitlines()) >= 5
    assert (user.demo.folder / "docs" / "16-generated" / "backup-report.md").is_file()
    jobs = [item["job"] for item in reversed(user.activities())]
    assert jobs == ["backup", "cleanup", "verify", "check", "report", "health"]


def test_health_warns_when_a_table_was_emptied_since_the_backup_before(user: User) -> None:
    user.backup()
    connection = sqlite3.connect(user.demo.database)
    with connection:
        connection.execute("DELETE FROM notes")
    connection.close()
    user.backup()

    process = user.run("health")

    assert process.returncode == 1
    assert "notes" in process.stdout
    assert "emptied_tables" in process.stdout
