"""What a user sees when something is wrong: exit codes, one clear line, the audit row."""

from __future__ import annotations

import json

from cli_user import User


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    """Assert the error is one line, without a traceback, and says each fragment."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("backproof: ")
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_flipped_byte_in_a_part_fails_verify_naming_the_part(user: User) -> None:
    backup_id = user.backup()
    part = user.part(backup_id, "db.sqlite.zst")
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))

    process = user.run("verify")

    assert process.returncode == 1
    assert_one_line_error(process.stderr, "db.sqlite.zst", "checksum")
    assert user.audit_rows("verify")[0]["status"] == "failed"


def test_truncated_part_fails_verify_naming_it(user: User) -> None:
    backup_id = user.backup()
    part = user.part(backup_id, "files.list.zst")
    part.write_bytes(part.read_bytes()[:-100])

    process = user.run("verify")

    assert process.returncode == 1
    assert_one_line_error(process.stderr, "files.list.zst", "truncated")


def test_missing_part_fails_verify_naming_it(user: User) -> None:
    backup_id = user.backup()
    user.part(backup_id, "db.sqlite.zst").unlink()

    process = user.run("verify")

    assert process.returncode == 1
    assert_one_line_error(process.stderr, "db.sqlite.zst")


def test_tampered_row_count_in_the_manifest_fails_verify_at_its_signature(user: User) -> None:
    backup_id = user.backup()
    path = user.part(backup_id, "manifest.json")
    manifest = json.loads(path.read_text("utf-8"))
    manifest["facts"]["tables"]["companies"] += 1
    path.write_text(json.dumps(manifest), "utf-8")

    process = user.run("verify")

    assert process.returncode == 1
    assert_one_line_error(process.stderr, backup_id, "does not match its signature")


def test_backup_of_a_missing_database_exits_1_with_one_line_and_a_failed_activity(
    user: User,
) -> None:
    user.demo.database.unlink()

    process = user.run("backup")

    assert process.returncode == 1
    assert process.stdout == ""
    assert_one_line_error(process.stderr, str(user.demo.database), "does not exist")
    activity = user.audit_rows("backup")[0]
    assert activity["status"] == "failed"
    assert str(user.demo.database) in activity["message"]
    assert user.json("list")["backups"] == []


def test_backup_without_a_key_table_exits_1_naming_it(user: User) -> None:
    config = user.demo.config
    config.write_text(
        config.read_text("utf-8").replace('"contacts"]', '"contacts", "invoices"]'), "utf-8"
    )

    process = user.run("backup")

    assert process.returncode == 1
    assert_one_line_error(process.stderr, "key table invoices")


def test_malformed_config_exits_2_with_one_line(user: User) -> None:
    user.demo.config.write_text("[state\nurl = 1\n", "utf-8")

    process = user.run("list")

    assert process.returncode == 2
    assert_one_line_error(process.stderr, "backproof.toml", "not valid TOML")


def test_invalid_config_exits_2_naming_every_key_one_line_each(user: User) -> None:
    config = user.demo.config
    text = config.read_text("utf-8").replace(
        'key_tables = ["companies", "contacts"]', "key_tables = 3"
    )
    config.write_text(text + "\n[retention]\nkeep_everything = true\n", "utf-8")

    process = user.run("backup")

    assert process.returncode == 2
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 2, process.stderr
    assert "Traceback" not in process.stderr
    assert lines[0].startswith(f"backproof: error: {config}: at targets[0].key_tables: ")
    assert lines[1].startswith(f"backproof: error: {config}: at retention.keep_everything: ")
    assert not (user.demo.folder / ".backproof").exists()


def test_environment_override_is_used_by_the_cli(user: User) -> None:
    process = user.run("backup", env={"BACKPROOF_TARGETS__0__DATABASE": "sqlite:///elsewhere.db"})

    assert process.returncode == 1
    assert_one_line_error(process.stderr, str(user.demo.folder / "elsewhere.db"))


def test_unknown_target_is_a_usage_error(user: User) -> None:
    process = user.run("backup", "--target", "shop")

    assert process.returncode == 2
    assert_one_line_error(process.stderr, "no target 'shop'")


def test_run_after_a_failed_backup_skips_to_report_and_health(user: User) -> None:
    user.demo.database.unlink()

    process = user.run("run")

    assert process.returncode == 1
    lines = process.stdout.splitlines()
    assert lines[0].startswith("✗ backup: ")
    assert lines[1:3] == [
        "– cleanup: skipped (the backup failed)",
        "– verify: skipped (the backup failed)",
    ]
    assert user.audit_rows("report")[0]["status"] == "success"
    assert user.audit_rows("health")[0]["status"] == "success"
    assert user.audit_rows("verify") == []
