"""The files store on SeaweedFS: stored once, restored whole, collected, a failing pack upload."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pyrage
import pytest
from s3_proxy import Fault, FaultProxy
from s3_server import ConfigWriter, SeaweedServer, s3_destination

from backproof.config.models import Settings
from backproof.demo import DemoLayout
from backproof.filestore import packs
from backproof.filestore.decrypting import PackDecryptors
from backproof.jobs.backup import run_backup
from backproof.jobs.cleanup import run_cleanup
from backproof.jobs.context import Context
from backproof.jobs.restore import run_restore
from backproof.jobs.verify import run_verify
from restored_files import files_of, vary_modes_and_times

pytestmark = pytest.mark.s3

ContextOpener = Callable[[Settings], Context]
LOCAL = {"name": "local", "url": "file:backups"}


def pack_keys(seaweed: SeaweedServer, bucket: str) -> set[str]:
    """Return the keys of the packs in the bucket."""
    answer = seaweed.admin().list_objects_v2(Bucket=bucket, Prefix="prod/.filestore/packs/")
    return {item["Key"] for item in answer.get("Contents", [])}


def tree_of(folder: Path) -> dict[str, bytes]:
    """Return every regular file below ``folder`` with its content."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def encrypted_to_new_identity(
    seaweed: SeaweedServer, bucket: str, write_config: ConfigWriter, folder: Path
) -> Settings:
    """Return the settings of a store on the bucket encrypted to a new identity kept in
    ``folder``."""
    identity = pyrage.x25519.Identity.generate()
    (folder / "age.key").write_text(f"{identity}\n", encoding="ascii")
    encryption = {
        "recipients": [str(identity.to_public())],
        "identity_file": str(folder / "age.key"),
    }
    return write_config([s3_destination("offsite", seaweed.endpoint, bucket)], encryption)


def test_files_are_stored_once_on_s3_and_restore_whole(
    seaweed: SeaweedServer,
    bucket: str,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
    demo: DemoLayout,
    tmp_path: Path,
) -> None:
    context = open_job_context(write_config([s3_destination("offsite", seaweed.endpoint, bucket)]))
    run_backup(context)
    packs = pack_keys(seaweed, bucket)

    second = run_backup(context)

    assert packs and pack_keys(seaweed, bucket) == packs
    assert run_verify(context).files == 18
    run_restore(context, second.backup_id, None, tmp_path / "out")
    assert tree_of(tmp_path / "out" / "uploads") == tree_of(demo.uploads)


def test_an_encrypted_store_on_s3_restores_whole_through_the_decrypting_processes(
    seaweed: SeaweedServer,
    bucket: str,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
    demo: DemoLayout,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = encrypted_to_new_identity(seaweed, bucket, write_config, tmp_path)
    context = open_job_context(settings)
    vary_modes_and_times(demo.uploads)
    backup = run_backup(context)
    assert run_verify(context).files == 18  # verify decrypts in its own process
    handed: list[int] = []
    decrypt = PackDecryptors.decrypt

    def counted(self: PackDecryptors, source: bytes | Path, sha256: str | None) -> memoryview:
        handed.append(len(source) if isinstance(source, bytes) else -1)
        return decrypt(self, source, sha256)

    monkeypatch.setattr(PackDecryptors, "decrypt", counted)

    run_restore(context, backup.backup_id, None, tmp_path / "out")

    # A bucket's restore keeps its threads and decrypting processes (file_writers.py reads
    # a local destination's packs only): same bytes, modes and times.
    assert files_of(tmp_path / "out" / "uploads") == files_of(demo.uploads)
    assert handed and all(size > 0 for size in handed)  # the bucket's bytes, handed over


def test_packs_sealed_by_the_sealing_process_restore_whole_from_s3(
    seaweed: SeaweedServer,
    bucket: str,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
    demo: DemoLayout,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = encrypted_to_new_identity(seaweed, bucket, write_config, tmp_path)
    context = open_job_context(settings)

    def seal_here(*arguments: object) -> None:
        raise AssertionError("a pack was sealed in the backup's own process")

    monkeypatch.setattr(packs, "pyrage", SimpleNamespace(encrypt_io=seal_here))
    backup = run_backup(context)
    monkeypatch.undo()

    assert pack_keys(seaweed, bucket)
    assert run_verify(context).files == 18
    run_restore(context, backup.backup_id, None, tmp_path / "out")
    assert tree_of(tmp_path / "out" / "uploads") == tree_of(demo.uploads)


def test_cleanup_on_s3_collects_the_packs_only_deleted_backups_named(
    seaweed: SeaweedServer,
    bucket: str,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
    demo: DemoLayout,
) -> None:
    retention = {"keep_all_days": 0, "keep_daily_days": 0, "keep_weekly_weeks": 0}
    retention |= {"keep_monthly_months": 0, "keep_yearly_years": 0, "debris_min_age_hours": 0}
    settings = write_config([s3_destination("offsite", seaweed.endpoint, bucket)], None, retention)
    context = open_job_context(settings)
    drafts = demo.folder / "drafts"
    drafts.mkdir()
    (drafts / "draft.txt").write_text("a draft no later backup holds", encoding="utf-8")
    context.settings.targets[0].files = [drafts]
    first = run_backup(context)
    first_packs = pack_keys(seaweed, bucket)
    context.settings.targets[0].files = [demo.uploads]
    clock = context.clock
    context.clock = lambda: clock() + timedelta(minutes=1)
    run_backup(context)
    all_packs = pack_keys(seaweed, bucket)

    result = run_cleanup(context)

    collection = result.destinations[0].collection
    assert first.backup_id in result.destinations[0].deleted
    assert collection is not None
    assert len(collection.deleted) == len(first_packs) == 1
    assert pack_keys(seaweed, bucket) == all_packs - first_packs
    assert run_verify(context).files == 18


def test_a_failing_pack_upload_drops_s3_and_keeps_the_backup_on_local(
    seaweed: SeaweedServer,
    bucket: str,
    proxy: FaultProxy,
    write_config: ConfigWriter,
    open_job_context: ContextOpener,
) -> None:
    settings = write_config([LOCAL, s3_destination("offsite", proxy.endpoint, bucket)])
    context = open_job_context(settings)
    proxy.add(
        Fault(
            lambda request: request.method == "PUT" and "/.filestore/packs/" in request.path,
            "status",
            403,
            "AccessDenied",
        )
    )

    backup = run_backup(context)

    assert backup.destinations == ["local"]
    assert "access denied" in backup.failed_destinations["offsite"]
    answer = seaweed.admin().list_objects_v2(Bucket=bucket, Prefix="prod/crm/")
    assert answer.get("Contents", []) == []  # no part of the backup is left on S3
    assert run_verify(context).backup_id == backup.backup_id
