"""``--json`` on every command a script runs: one document on stdout, bytes and ISO times."""

from __future__ import annotations

from cli_user import User


def test_backup_json_gives_the_id_and_sizes_in_bytes(user: User) -> None:
    document = user.json("backup")

    (outcome,) = document["outcomes"]
    assert document["job"] == "backup"
    assert outcome["status"] == "success"
    assert outcome["result"]["size_bytes"] > 0
    assert (user.backups / "crm" / outcome["result"]["backup_id"] / "manifest.json").is_file()


def test_failed_backup_json_exits_1_with_the_error_on_stderr_and_no_document(user: User) -> None:
    user.demo.database.unlink()

    process = user.run("backup", "--json")

    assert process.returncode == 1
    assert process.stdout == ""
    assert "does not exist" in process.stderr
    assert len(process.stderr.strip().splitlines()) == 1


def test_verify_json_says_what_was_compared(user: User) -> None:
    backup_id = user.backup()

    (outcome,) = user.json("verify")["outcomes"]

    assert outcome["result"]["backup_id"] == backup_id
    assert outcome["result"]["tables"] == 4


def test_run_json_lists_every_job_of_the_chain(user: User) -> None:
    document = user.json("run")

    (chain,) = document["runs"]
    assert [step["job"] for step in chain["steps"]] == [
        "backup",
        "cleanup",
        "verify",
        "report",
        "health",
    ]
    assert {step["status"] for step in chain["steps"]} == {"success"}


def test_restore_json_gives_the_backup_and_the_duration(user: User) -> None:
    backup_id = user.backup()
    restored = user.demo.folder / "restored.db"

    document = user.json("restore", backup_id, "--to", f"sqlite:///{restored}")

    assert document["backup_id"] == backup_id
    assert document["duration_seconds"] >= 0
    assert restored.is_file()


def test_restore_help_says_the_target_is_found_from_the_id(user: User) -> None:
    help_text = user.ok("restore", "--help")

    assert "default: found by ID" in help_text
    assert "every target" not in help_text


def test_demo_json_names_the_folder_the_config_and_the_next_command(user: User) -> None:
    folder = user.demo.folder / "another"

    document = user.json("demo", "--dir", str(folder))

    assert document["folder"] == str(folder)
    assert document["config"] == str(folder / "backproof.toml")
    assert document["rows"]["contacts"] == 1200
    assert document["next"].endswith(" run")
