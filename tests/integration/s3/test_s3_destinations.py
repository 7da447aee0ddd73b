"""Several destinations in one pass, local and SeaweedFS: outcomes, partial backups, verify
--from, cleanup per destination, and encrypted, signed backups on S3."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyrage
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from s3_proxy import Fault, FaultProxy
from s3_server import ConfigWriter, SeaweedServer, incomplete_uploads, s3_destination

from backproof.archive.authentication import public_key_text
from backproof.config.models import Settings
from backproof.errors import IntegrityError, StorageError
from backproof.jobs.backup import run_backup
from backproof.jobs.cleanup import run_cleanup
from backproof.jobs.context import Context
from backproof.jobs.verify import run_verify

pytestmark = pytest.mark.s3

CliRunner = Callable[..., subprocess.CompletedProcess[str]]
ContextOpener = Callable[[Settings], Context]
LOCAL = {"name": "local", "url": "file:backups"}


def bucket_keys(seaweed: SeaweedServer, bucket: str) -> list[str]:
    answer = seaweed.admin().list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in answer.get("Contents", []))


def test_backup_reaches_local_and_s3_in_one_pass_and_verifies_from_each(
    seaweed: SeaweedServer,
    bucket: str,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
):
    settings = write_config([LOCAL, s3_destination("offsite", seaweed.endpoint, bucket)])
    context = open_job_context(settings)

    backup = run_backup(context)
    from_local = run_verify(context, destination_name="local")
    from_s3 = run_verify(context, destination_name="offsite")

    assert backup.destinations == ["local", "offsite"]
    assert not backup.is_partial
    assert (from_local.destination, from_s3.destination) == ("local", "offsite")
    assert from_s3.rows == from_local.rows > 0
    prefix = f"prod/crm/{backup.backup_id}/"
    assert [key for key in bucket_keys(seaweed, bucket) if key.startswith("prod/crm/")] == [
        prefix + "db.sqlite.zst",
        prefix + "files.list.zst",
        prefix + "manifest.json",
    ]
    meta = context.activities.find(job="backup", limit=1)[0].meta
    assert meta["destinations"] == ["local", "offsite"]
    assert meta["failed_destinations"] == []


def test_backup_missing_a_bucket_is_kept_as_partial_and_warns_in_health(
    seaweed: SeaweedServer,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
    run_cli: CliRunner,
):
    settings = write_config([LOCAL, s3_destination("offsite", seaweed.endpoint, "no-such-bucket")])
    context = open_job_context(settings)

    backup = run_backup(context)
    verified = run_verify(context)
    health = json.loads(run_cli("health", "--json").stdout)

    assert backup.is_partial
    assert backup.destinations == ["local"]
    assert "bucket no-such-bucket does not exist" in backup.failed_destinations["offsite"]
    assert verified.backup_id == backup.backup_id
    activity = context.activities.find(job="backup", limit=1)[0]
    assert activity.status == "success"
    assert activity.meta["failed_destinations"] == ["offsite"]
    assert "does not exist" in activity.meta["destination_errors"]["offsite"]
    assert "partial" in (activity.message or "")
    checks = {check["name"]: check for check in health["targets"][0]["checks"]}
    assert checks["destinations"]["status"] == "warning"


def test_destination_failing_midway_is_dropped_and_left_clean(
    seaweed: SeaweedServer,
    bucket: str,
    proxy: FaultProxy,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
    large_upload: Path,
):
    settings = write_config([LOCAL, s3_destination("offsite", proxy.endpoint, bucket)])
    context = open_job_context(settings)
    proxy.add(Fault(lambda request: request.is_part_upload, "status", 403, "AccessDenied"))

    backup = run_backup(context)

    assert backup.destinations == ["local"]
    assert "access denied" in backup.failed_destinations["offsite"]
    assert bucket_keys(seaweed, bucket) == []  # the db part it got is removed, no debris
    assert incomplete_uploads(seaweed.admin(), bucket) == []
    assert run_verify(context).backup_id == backup.backup_id


def test_cli_verify_from_names_the_s3_destination(
    seaweed: SeaweedServer, bucket: str, write_config: ConfigWriter, run_cli: CliRunner
):
    write_config([LOCAL, s3_destination("offsite", seaweed.endpoint, bucket)])
    assert run_cli("backup").returncode == 0

    verify = run_cli("verify", "--from", "offsite")
    activities = json.loads(run_cli("activities", "--job", "verify", "--json").stdout)

    assert verify.returncode == 0, verify.stderr
    assert activities["activities"][0]["meta"]["destination"] == "offsite"


def test_cleanup_applies_retention_on_each_destination_and_sweeps_s3(
    seaweed: SeaweedServer,
    bucket: str,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
):
    retention = {
        "keep_all_days": 0,
        "keep_daily_days": 0,
        "keep_weekly_weeks": 0,
        "keep_monthly_months": 0,
        "keep_yearly_years": 0,
    }
    settings = write_config(
        [LOCAL, s3_destination("offsite", seaweed.endpoint, bucket)], retention=retention
    )
    now = datetime.now(UTC)
    context = open_job_context(settings)
    context.clock = lambda: now - timedelta(days=3)
    old = run_backup(context)
    context.clock = lambda: now
    new = run_backup(context)
    admin = seaweed.admin()
    abandoned = "prod/crm/20200101T000000Z-dead00/db.sqlite.zst"
    admin.create_multipart_upload(Bucket=bucket, Key=abandoned)
    admin.put_object(Bucket=bucket, Key="prod/crm/20200101T000000Z-dead01/db.sqlite.zst", Body=b"x")

    result = run_cleanup(context)

    by_destination = {item.destination: item for item in result.destinations}
    assert set(by_destination["local"].deleted) == {old.backup_id}
    assert set(by_destination["offsite"].deleted) == {old.backup_id}
    assert by_destination["offsite"].debris == ["20200101T000000Z-dead01"]
    assert by_destination["offsite"].incomplete_uploads == [
        "crm/20200101T000000Z-dead00/db.sqlite.zst"
    ]
    backups = {
        key.split("/")[2] for key in bucket_keys(seaweed, bucket) if key.startswith("prod/crm/")
    }
    assert backups == {new.backup_id}
    assert incomplete_uploads(admin, bucket) == []


def test_cleanup_goes_on_with_the_other_destinations_when_one_is_unreachable(
    seaweed: SeaweedServer,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
):
    settings = write_config([s3_destination("offsite", seaweed.endpoint, "no-such-bucket"), LOCAL])
    context = open_job_context(settings)
    run_backup(context)

    with pytest.raises(StorageError, match="does not exist"):
        run_cleanup(context)

    activity = context.activities.find(job="cleanup", limit=1)[0]
    assert activity.status == "failed"
    assert "local" in activity.meta["stored"]
    assert "offsite" in activity.meta["failed_destinations"]


def signing_keys(folder: Path) -> dict[str, object]:
    identity = pyrage.x25519.Identity.generate()
    (folder / "age.key").write_text(f"{identity}\n", encoding="ascii")
    key = Ed25519PrivateKey.generate()
    (folder / "signing").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    return {
        "recipients": [str(identity.to_public())],
        "identity_file": str(folder / "age.key"),
        "signing_key_file": str(folder / "signing"),
        "verify_key": public_key_text(key.public_key()),
    }


def test_encrypted_signed_backup_on_s3_verifies_and_a_forged_one_is_caught(
    seaweed: SeaweedServer,
    bucket: str,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
    tmp_path: Path,
):
    encryption = signing_keys(tmp_path)
    settings = write_config(
        [s3_destination("offsite", seaweed.endpoint, bucket)], encryption=encryption
    )
    context = open_job_context(settings)
    backup = run_backup(context)
    assert run_verify(context).backup_id == backup.backup_id
    admin = seaweed.admin()
    prefix = f"prod/crm/{backup.backup_id}/"
    manifest = json.loads(
        admin.get_object(Bucket=bucket, Key=prefix + "manifest.json")["Body"].read()
    )
    forged = pyrage.encrypt(
        b"forged",
        [pyrage.x25519.Recipient.from_str(encryption["recipients"][0])],  # type: ignore[index]
    )
    db_part = manifest["parts"][0]
    admin.put_object(Bucket=bucket, Key=prefix + db_part["file"], Body=forged)
    db_part.update(sha256=hashlib.sha256(forged).hexdigest(), size_bytes=len(forged))
    admin.put_object(
        Bucket=bucket, Key=prefix + "manifest.json", Body=json.dumps(manifest).encode()
    )

    with pytest.raises(IntegrityError, match="does not match its signature"):
        run_verify(context)
