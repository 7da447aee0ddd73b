"""What a user sees of the deeper proofs: the verify summary, ``verify --all``, ``list``."""

from __future__ import annotations

import json

from cli_user import User


def test_verify_says_every_table_is_identical_and_the_database_checked(user: User) -> None:
    user.backup()

    output = user.ok("verify")

    assert "all 4 tables identical (" in output
    assert "tables and indexes checked" in output
    assert "files identical (" in output


def test_list_says_what_the_latest_passed_proof_proved(user: User) -> None:
    user.backup()
    user.ok("verify")

    (item,) = user.json("list")["backups"]

    assert item["proof"]["depth"] == "content"
    assert user.ok("list").splitlines()[1].endswith("(every row)")


def test_verify_all_proves_every_backup_and_fails_naming_the_broken_one(user: User) -> None:
    older = user.backup()
    user.backup()
    part = user.part(older, "db.sqlite.zst")
    part.write_bytes(part.read_bytes()[:-1])

    result = user.run("verify", "--all")

    assert result.returncode == 1
    assert f"verify FAILED: backup {older}" in result.stdout
    assert "1 of 2 kept backups proved" in result.stdout


def test_verify_all_with_one_backup_named_is_a_usage_error(user: User) -> None:
    backup_id = user.backup()

    result = user.run("verify", "--all", "--backup", backup_id)

    assert result.returncode == 2
    assert "leave out --backup" in result.stderr


def test_check_finds_a_deleted_part_of_an_old_backup(user: User) -> None:
    older = user.backup()
    user.backup()
    assert user.ok("check").startswith("check passed: crm: 4 parts of 2 backups checked")
    user.part(older, "db.sqlite.zst").unlink()

    result = user.run("check")

    assert result.returncode == 1
    assert f"backup {older} part db.sqlite.zst is missing" in result.stderr
    assert user.activities("check")[0]["status"] == "failed"


def kept_backups_check(user: User) -> dict[str, object]:
    """Return the ``kept_backups`` check of ``health --json``."""
    (target,) = json.loads(user.run("health", "--json").stdout)["targets"]
    return next(check for check in target["checks"] if check["name"] == "kept_backups")


def test_an_old_backup_that_no_longer_restores_warns_until_it_proves_again(user: User) -> None:
    older = user.backup()
    user.backup()
    user.ok("verify")
    part = user.part(older, "db.sqlite.zst")
    intact = part.read_bytes()
    part.write_bytes(intact[:-1])

    assert user.run("verify", "--all").returncode == 1
    check = kept_backups_check(user)
    assert check["status"] == "warning"
    assert f"1 kept backup no longer restores: backup {older}" in str(check["message"])
    assert user.run("health").returncode == 1
    user.ok("verify")  # the newest passing again does not clear it
    assert kept_backups_check(user)["status"] == "warning"

    part.write_bytes(intact)
    user.ok("verify", "--backup", older)

    assert kept_backups_check(user)["status"] == "ok"
