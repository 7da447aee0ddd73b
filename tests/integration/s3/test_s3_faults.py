"""Faults between backproof and SeaweedFS, injected by the proxy or made real.

Whatever goes wrong, the outcome is the same: one clear line on stderr and exit 1, a failed
backup activity, no committed backup, no incomplete multipart upload left behind, and the
earlier backup intact and still verifiable.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from s3_proxy import Fault, FaultProxy, ProxiedRequest
from s3_server import (
    READER_KEY,
    ConfigWriter,
    SeaweedServer,
    empty_bucket,
    incomplete_uploads,
    s3_destination,
)

from backproof.archive.catalog import scan_target
from backproof.config.models import Settings
from backproof.jobs.backup import BackupResult, run_backup
from backproof.jobs.cleanup import run_cleanup
from backproof.jobs.context import Context
from backproof.jobs.verify import run_verify

pytestmark = pytest.mark.s3

CliRunner = Callable[..., subprocess.CompletedProcess[str]]
ContextOpener = Callable[[Settings], Context]


def is_part_upload(request: ProxiedRequest) -> bool:
    return request.is_part_upload


@dataclass
class Scene:
    """A target with one good backup on S3 (through the proxy), ready for a fault."""

    seaweed: SeaweedServer
    proxy: FaultProxy
    bucket: str
    write_config: ConfigWriter
    open_job_context: ContextOpener
    run_cli: CliRunner
    earlier: BackupResult | None = None

    def back_up_before_the_fault(self) -> Scene:
        """Make the earlier backup that must survive the fault."""
        self.earlier = run_backup(self.open_job_context(self.configure()))
        return self

    def configure(self, **options: object) -> Settings:
        """Point the config at the proxy (or wherever ``options`` say)."""
        destination = s3_destination("offsite", self.proxy.endpoint, self.bucket) | options
        return self.write_config([destination], retention={"debris_min_age_hours": 0})

    def assert_failed_cleanly(
        self, result: subprocess.CompletedProcess[str], expected: str
    ) -> None:
        """Check everything the issue asks of a failed backup, then verify the earlier one."""
        assert self.earlier is not None
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1, result.stderr
        assert len(lines) == 1, result.stderr
        assert expected in lines[0]
        self.proxy.clear()
        settings = self.configure()
        context = self.open_job_context(settings)
        activity = context.activities.find(job="backup", limit=1)[0]
        assert activity.status == "failed"
        assert expected in (activity.message or "")
        listing = scan_target(context.storage(), "crm")
        assert [manifest.id for manifest in listing.committed] == [self.earlier.backup_id]
        assert listing.debris == []
        assert incomplete_uploads(self.seaweed.admin(), self.bucket) == []
        assert run_verify(context).backup_id == self.earlier.backup_id


@pytest.fixture
def scene(
    seaweed: SeaweedServer,
    proxy: FaultProxy,
    bucket: str,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
    run_cli: CliRunner,
    large_upload: Path,
) -> Scene:
    scene = Scene(seaweed, proxy, bucket, write_config, open_job_context, run_cli)
    return scene.back_up_before_the_fault()


def test_connection_cut_mid_upload_fails_cleanly(scene: Scene):
    scene.configure()
    scene.proxy.add(Fault(is_part_upload, "cut", skip=1))

    result = scene.run_cli("backup")

    scene.assert_failed_cleanly(result, "was cut")


def test_server_errors_fail_cleanly_after_the_retries(scene: Scene):
    scene.configure()
    fault = scene.proxy.add(Fault(is_part_upload, "status", 500, "InternalError"))

    result = scene.run_cli("backup")

    scene.assert_failed_cleanly(result, "the server answered 500 InternalError")
    assert fault.hits >= 2  # retried before giving up


def test_slow_answers_time_out_and_fail_cleanly(scene: Scene):
    scene.configure(timeout_seconds=1)
    scene.proxy.add(Fault(is_part_upload, "delay", delay_seconds=4))

    result = scene.run_cli("backup")

    scene.assert_failed_cleanly(result, "did not answer in time")


def test_access_denied_fails_cleanly(scene: Scene):
    scene.configure(access_key_id=READER_KEY[0], secret_access_key=READER_KEY[1])

    result = scene.run_cli("backup")

    scene.assert_failed_cleanly(result, "access denied")


def test_read_only_keys_still_verify(scene: Scene):
    assert scene.earlier is not None
    scene.configure(access_key_id=READER_KEY[0], secret_access_key=READER_KEY[1])

    result = scene.run_cli("verify")

    assert result.returncode == 0, result.stderr
    assert scene.earlier.backup_id in result.stdout


def test_missing_bucket_fails_cleanly(scene: Scene):
    scene.write_config([s3_destination("offsite", scene.proxy.endpoint, "no-such-bucket")])

    result = scene.run_cli("backup")

    scene.assert_failed_cleanly(result, "bucket no-such-bucket does not exist")


def test_corrupted_bytes_are_refused_by_the_server_and_fail_cleanly(scene: Scene):
    scene.configure()
    scene.proxy.add(Fault(is_part_upload, "corrupt", skip=1))

    result = scene.run_cli("backup")

    scene.assert_failed_cleanly(result, "BadDigest")


def test_transient_faults_are_retried_and_the_backup_succeeds(scene: Scene):
    settings = scene.configure(timeout_seconds=2)
    scene.proxy.add(Fault(is_part_upload, "status", 503, "SlowDown", times=1))
    scene.proxy.add(Fault(is_part_upload, "cut", times=1))
    scene.proxy.add(Fault(lambda request: request.method == "PUT", "delay", delay_seconds=0.2))

    result = scene.run_cli("backup")

    assert result.returncode == 0, result.stderr
    context = scene.open_job_context(settings)
    assert run_verify(context).backup_id == result.stdout.split()[-1]
    assert incomplete_uploads(scene.seaweed.admin(), scene.bucket) == []


@pytest.fixture
def doomed_seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """A server of its own, for the test that kills it."""
    server = SeaweedServer(tmp_path_factory.mktemp("doomed-seaweed"))
    server.start()
    yield server
    if server.process is None:
        server.start()
    for bucket in server.admin().list_buckets().get("Buckets", []):
        empty_bucket(server.admin(), bucket["Name"])
    server.stop(kill=True)


def test_server_killed_mid_upload_fails_cleanly_and_cleanup_sweeps_the_upload(
    doomed_seaweed: SeaweedServer,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
    run_cli: CliRunner,
    large_upload: Path,
):
    admin = doomed_seaweed.admin()
    admin.create_bucket(Bucket="backups")
    proxy = FaultProxy(doomed_seaweed.ports["s3"])
    proxy.start()
    try:
        scene = Scene(doomed_seaweed, proxy, "backups", write_config, open_job_context, run_cli)
        scene.back_up_before_the_fault()
        kill = Fault(is_part_upload, "call", callback=lambda: doomed_seaweed.stop(kill=True))
        proxy.add(kill)
        kill.skip = 1

        result = run_cli("backup")
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "was cut" in result.stderr

        doomed_seaweed.start()
        left = incomplete_uploads(admin, "backups")
        cleanup = run_cleanup(open_job_context(scene.configure()))
        swept = cleanup.destinations[0].incomplete_uploads
        assert [key.removeprefix("prod/") for key in left] == swept
        scene.assert_failed_cleanly(result, "was cut")
    finally:
        proxy.stop()


def test_activities_show_the_failed_backup_with_its_reason(scene: Scene):
    scene.configure()
    scene.proxy.add(Fault(is_part_upload, "status", 500, "InternalError"))
    scene.run_cli("backup")

    listed = json.loads(scene.run_cli("activities", "--job", "backup", "--json").stdout)

    newest = listed["activities"][0]
    assert newest["status"] == "failed"
    assert "500 InternalError" in newest["message"]
