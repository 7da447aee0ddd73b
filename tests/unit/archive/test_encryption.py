"""age encryption of parts in the stream: round trips, bounded pipes, aborts and key errors."""

from __future__ import annotations

import io
import secrets
import threading
import time
from pathlib import Path

import pyrage
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backproof.archive.encryption import (
    ReadingKeys,
    load_identities,
    make_encryptor,
    open_decrypted,
    parse_recipients,
)
from backproof.archive.manifest import Manifest, Part
from backproof.archive.parts import write_part
from backproof.archive.reading import open_decoded_part
from backproof.archive.streams import Writer
from backproof.archive.thread_pipes import ChunkPipe
from backproof.errors import ConfigError, IntegrityError, RestoreError, StorageFullError
from backproof.storage.base import Storage
from backproof.storage.memory import MemoryStorage

KEY = "crm/20260101T000000Z-abcdef/db.sqlite.zst.age"


def new_identity(folder: Path) -> tuple[str, Path]:
    """Return a new recipient and the identity file that decrypts for it."""
    identity = pyrage.x25519.Identity.generate()
    path = folder / f"age-{secrets.token_hex(2)}.key"
    path.write_text(f"# created by a test\n{identity}\n", encoding="ascii")
    return str(identity.to_public()), path


def sample_bytes() -> bytes:
    """Return 3 MiB, half compressible and half not."""
    return b"INSERT INTO contacts VALUES (1, 'Jana');\n" * 40_000 + secrets.token_bytes(1_400_000)


def write_encrypted(storages: dict[str, Storage], data: bytes, recipients: list[str]) -> Part:
    def produce(sink: Writer) -> None:
        for start in range(0, len(data), 100_000):
            sink.write(data[start : start + 100_000])

    _, outcome = write_part(
        storages,
        KEY,
        produce,
        compression="zstd",
        level=None,
        encryptor=make_encryptor(parse_recipients(recipients)),
        on_progress=lambda _size: None,
    )
    return Part(
        name="db",
        file="db.sqlite.zst.age",
        format="sqlite",
        size_bytes=outcome.size_bytes,
        sha256=outcome.sha256,
        compression="zstd",
        encryption="age",
    )


def read_back(storage: Storage, part: Part, identity_file: Path | None) -> bytes:
    manifest = Manifest.model_validate(
        {
            "id": "20260101T000000Z-abcdef",
            "target": "crm",
            "created_at": "2026-01-01T00:00:00Z",
            "finished_at": "2026-01-01T00:00:01Z",
            "tool_version": "test",
            "host": "test",
            "parts": [part.model_dump()],
            "facts": {},
        }
    )
    with open_decoded_part(storage, manifest, part, ReadingKeys(identity_file)) as stream:
        return stream.read()


# The age threads alive when the running test started (``earlier_age_threads``).
_EARLIER: set[threading.Thread] = set()


@pytest.fixture(autouse=True)
def earlier_age_threads() -> None:
    """Let the age threads of the tests run before in this process end (a stopped stream's
    thread ends at its next chunk: on a loaded machine that can be after its test ended), so
    that each test judges only the threads it started itself."""
    deadline = time.monotonic() + 10
    while _age_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    _EARLIER.clear()
    _EARLIER.update(_age_threads())


def _age_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("age-")]


def encryption_threads() -> list[threading.Thread]:
    """Return the age threads this test started that are still alive."""
    return [thread for thread in _age_threads() if thread not in _EARLIER]


def test_encrypted_part_reads_back_identical_with_the_identity(tmp_path: Path):
    recipient, identity_file = new_identity(tmp_path)
    storage = MemoryStorage()
    data = sample_bytes()

    part = write_encrypted({"memory": storage}, data, [recipient])

    assert storage.objects[KEY].startswith(b"age-encryption.org/v1\n")
    assert read_back(storage, part, identity_file) == data
    assert encryption_threads() == []


def test_part_encrypted_to_two_recipients_opens_with_either_identity(tmp_path: Path):
    first, first_file = new_identity(tmp_path)
    second, second_file = new_identity(tmp_path)
    storage = MemoryStorage()

    part = write_encrypted({"memory": storage}, b"dump" * 1000, [first, second])

    assert read_back(storage, part, first_file) == b"dump" * 1000
    assert read_back(storage, part, second_file) == b"dump" * 1000


def test_ssh_ed25519_keys_work_as_recipient_and_identity(tmp_path: Path):
    key = Ed25519PrivateKey.generate()
    recipient = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    identity_file = tmp_path / "id_ed25519"
    identity_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    storage = MemoryStorage()

    part = write_encrypted({"memory": storage}, b"ssh" * 5000, [recipient])

    assert read_back(storage, part, identity_file) == b"ssh" * 5000


def test_wrong_identity_is_one_clear_restore_error(tmp_path: Path):
    recipient, _ = new_identity(tmp_path)
    _, other_file = new_identity(tmp_path)
    storage = MemoryStorage()
    part = write_encrypted({"memory": storage}, b"secret rows", [recipient])

    with pytest.raises(RestoreError, match="holds no identity of the recipients"):
        read_back(storage, part, other_file)
    assert encryption_threads() == []


def test_missing_identity_file_setting_says_what_to_set(tmp_path: Path):
    recipient, _ = new_identity(tmp_path)
    storage = MemoryStorage()
    part = write_encrypted({"memory": storage}, b"secret rows", [recipient])

    with pytest.raises(RestoreError, match=r"set encryption\.identity_file"):
        read_back(storage, part, None)


def test_unreadable_identity_file_is_a_restore_error(tmp_path: Path):
    with pytest.raises(RestoreError, match=r"cannot read encryption\.identity_file"):
        load_identities(tmp_path / "nowhere.key")


def test_identity_file_without_identity_is_a_restore_error(tmp_path: Path):
    path = tmp_path / "empty.key"
    path.write_text("# nothing here\n", encoding="ascii")

    with pytest.raises(RestoreError, match="holds no age identity"):
        load_identities(path)


def test_invalid_recipient_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"at encryption.recipients: age1notakey"):
        parse_recipients(["age1notakey"])


def test_truncated_ciphertext_is_an_integrity_error(tmp_path: Path):
    recipient, identity_file = new_identity(tmp_path)
    storage = MemoryStorage()
    part = write_encrypted({"memory": storage}, sample_bytes(), [recipient])
    storage.objects[KEY] = storage.objects[KEY][:-5000]

    with pytest.raises(IntegrityError, match="corrupt or altered"):
        read_back(storage, part, identity_file)


def test_failing_destination_is_dropped_while_the_other_gets_the_encrypted_part(
    tmp_path: Path,
):
    recipient, identity_file = new_identity(tmp_path)
    small = MemoryStorage("small", capacity_bytes=200_000)
    large = MemoryStorage("large")
    data = sample_bytes()

    part = write_encrypted({"small": small, "large": large}, data, [recipient])

    assert KEY not in small.objects
    assert read_back(large, part, identity_file) == data


def test_every_destination_failing_raises_the_storage_error_and_stops_the_thread(
    tmp_path: Path,
):
    recipient, _ = new_identity(tmp_path)
    small = MemoryStorage("small", capacity_bytes=200_000)

    with pytest.raises(StorageFullError, match="no space left"):
        write_encrypted({"small": small}, sample_bytes(), [recipient])
    assert small.objects == {}
    assert small.incomplete == set()
    assert encryption_threads() == []


def test_failing_producer_aborts_the_upload_and_stops_the_thread(tmp_path: Path):
    recipient, _ = new_identity(tmp_path)
    storage = MemoryStorage()

    def produce(sink: Writer) -> None:
        sink.write(secrets.token_bytes(2_000_000))
        raise RuntimeError("the dump tool died")

    with pytest.raises(RuntimeError, match="the dump tool died"):
        write_part(
            {"memory": storage},
            KEY,
            produce,
            compression="zstd",
            level=None,
            encryptor=make_encryptor(parse_recipients([recipient])),
            on_progress=lambda _size: None,
        )
    assert storage.objects == {}
    assert encryption_threads() == []


def test_closing_a_decrypting_stream_early_stops_its_thread(tmp_path: Path):
    recipient, identity_file = new_identity(tmp_path)
    ciphertext = pyrage.encrypt(secrets.token_bytes(6_000_000), parse_recipients([recipient]))

    with open_decrypted(io.BytesIO(ciphertext), load_identities(identity_file), "test") as stream:
        assert len(stream.read(1000)) == 1000

    assert encryption_threads() == []


def test_pipe_returns_bytes_in_order_and_empty_at_the_end():
    pipe = ChunkPipe(max_bytes=10)
    pipe.put(b"abcdef")
    pipe.put(b"ghij")
    pipe.finish()

    pieces = [pipe.get(4), pipe.get(4), pipe.get(4), pipe.get(4)]

    assert pieces == [b"abcd", b"ef", b"ghij", b""]


def test_pipe_put_waits_while_full_until_read():
    pipe = ChunkPipe(max_bytes=4)
    pipe.put(b"full")
    writer = threading.Thread(target=pipe.put, args=(b"more",))
    writer.start()
    writer.join(timeout=0.2)
    blocked = writer.is_alive()

    first = pipe.get(100)
    writer.join(timeout=10)

    assert blocked
    assert first == b"full"
    assert pipe.get(100) == b"more"


def test_broken_pipe_fails_both_ends():
    pipe = ChunkPipe()
    pipe.break_pipe()

    with pytest.raises(BrokenPipeError):
        pipe.put(b"x")
    with pytest.raises(BrokenPipeError):
        pipe.get(1)
