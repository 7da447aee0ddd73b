"""A PostgreSQL backup in two parts (issue 12) on S3, encrypted: both parts uploaded at once,
verified, and restored into another database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyrage
import pytest
from pg_servers import shared_server
from s3_server import SeaweedServer, incomplete_uploads, s3_destination

from backproof.config.models import Settings
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from backproof.jobs.restore import run_restore
from backproof.jobs.verify import run_verify
from backproof.sources import postgresql_streams

pytestmark = pytest.mark.s3


def test_a_postgresql_backup_in_two_encrypted_parts_on_s3_verifies_and_restores(
    seaweed: SeaweedServer,
    bucket: str,
    open_job_context: Callable[[Settings], Context],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postgresql_streams, "DATA_PART_MIN_BYTES", 256 * 1024)
    identity = pyrage.x25519.Identity.generate()
    (tmp_path / "age.key").write_text(f"{identity}\n", encoding="ascii")
    pg = shared_server()
    try:
        database = pg.create_database(big_rows=20_000)
        settings = Settings.model_validate(
            {
                "state": {
                    "url": f"sqlite:///{tmp_path / 'state.db'}",
                    "lock_dir": str(tmp_path / "locks"),
                },
                "targets": [
                    {
                        "name": "crm",
                        "database": pg.url(database),
                        "key_tables": ["companies", "contacts"],
                    }
                ],
                "destinations": [s3_destination("offsite", seaweed.endpoint, bucket)],
                "encryption": {
                    "recipients": [str(identity.to_public())],
                    "identity_file": str(tmp_path / "age.key"),
                },
            }
        )
        context = open_job_context(settings)

        backup = run_backup(context)
        verified = run_verify(context)
        copy = pg.create_database(crm=False)
        run_restore(context, backup.backup_id, pg.url(copy), None)
        with pg.connect(copy) as connection:
            row = connection.execute("SELECT count(*) FROM big_table").fetchone()
    finally:
        pg.clean_up()

    prefix = f"prod/crm/{backup.backup_id}/"
    answer = seaweed.admin().list_objects_v2(Bucket=bucket, Prefix=prefix)
    assert sorted(item["Key"] for item in answer.get("Contents", [])) == [
        prefix + "db-data.pgdump.zst.age",
        prefix + "db.pgdump.zst.age",
        prefix + "manifest.json",
    ]
    assert incomplete_uploads(seaweed.admin(), bucket) == []
    assert verified.backup_id == backup.backup_id
    assert row == (20_000,)
