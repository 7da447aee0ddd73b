"""age encryption of parts, in the stream: recipients to encrypt, an identity to decrypt.

The backup host holds only recipients (public keys, ``age1…`` or ``ssh-ed25519 …``): it can
encrypt and never decrypt, so it keeps no secret that reads the backups. Verify and restore load
the identity file (the secret) when they meet an encrypted part.

pyrage encrypts or decrypts a whole file-like object in one call, while parts are pushed through
writers and pulled through readers; a thread runs the call and a bounded ``ChunkPipe`` moves the
bytes, so memory stays flat. age authenticates every 64 KiB chunk, but anyone holding the
recipients can encrypt: who wrote a part is proven by the manifest's signature, not by age.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Final

import pyrage

from backproof.archive.age_identities import parse_identities
from backproof.archive.authentication import TrustedKeys
from backproof.archive.streams import Encryptor, StreamStage, Writer
from backproof.archive.thread_pipes import (
    ChunkPipe,
    PipeReadEnd,
    PipeWriteEnd,
    Readable,
    RecordingReader,
    RecordingWriter,
)
from backproof.config.models import EncryptionSettings
from backproof.errors import (
    BackproofError,
    ConfigError,
    IntegrityError,
    OperationError,
    RestoreError,
)

ENCRYPTION_NAME: Final = "age"
NO_MATCHING_KEY = "No matching keys found"


def parse_recipients(texts: list[str]) -> list[Any]:
    """Return pyrage recipients of ``age1…`` and ``ssh-…`` keys; ConfigError naming a bad one."""
    recipients = []
    for text in texts:
        try:
            if text.startswith("age1"):
                recipients.append(pyrage.x25519.Recipient.from_str(text))
            else:
                recipients.append(pyrage.ssh.Recipient.from_str(text))
        except pyrage.RecipientError as exc:
            raise ConfigError(
                [f"at encryption.recipients: {text[:16]}… is not a valid age recipient: {exc}"]
            ) from exc
    return recipients


def load_identities(path: Path | None) -> list[Any]:
    """Return the identities of an age identity file (or an OpenSSH private key).

    Raises RestoreError when no file is configured, it cannot be read, or holds no identity.
    """
    if path is None:
        raise RestoreError(
            "the backup is encrypted with age: set encryption.identity_file to the identity "
            "(AGE-SECRET-KEY-1…) of one of its recipients"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RestoreError(
            f"cannot read encryption.identity_file {path}: {exc.strerror or exc}"
        ) from exc
    try:
        identities = parse_identities(data)
    except pyrage.IdentityError as exc:
        raise RestoreError(f"encryption.identity_file {path} holds an invalid identity") from exc
    if not identities:
        raise RestoreError(f"encryption.identity_file {path} holds no age identity")
    return identities


@dataclass
class ReadingKeys:
    """What verify and restore need to read backups: the identity file and the trusted keys."""

    identity_file: Path | None = None
    trusted: TrustedKeys = field(default_factory=TrustedKeys)
    loaded: list[Any] | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: EncryptionSettings, trusted: TrustedKeys) -> ReadingKeys:
        """Return the keys of the ``[encryption]`` settings (the identity is read on first use)
        and the signing keys to trust."""
        return cls(settings.identity_file, trusted)

    def identities(self) -> list[Any]:
        """Return the identities, loading the file once; RestoreError when unusable."""
        if self.loaded is None:
            self.loaded = load_identities(self.identity_file)
        return self.loaded

    def identity_data(self) -> bytes | None:
        """Return the identity file's bytes for a process of ours that decrypts with them (read
        again: only the parsed identities are kept); None when they were handed over parsed.

        Raises RestoreError when the file is unusable, as ``identities`` does.
        """
        self.identities()
        if self.identity_file is None:
            return None
        try:
            return self.identity_file.read_bytes()
        except OSError as exc:
            raise RestoreError(
                f"cannot read encryption.identity_file {self.identity_file}: {exc.strerror or exc}"
            ) from exc


def _stage_failure(error: BaseException) -> BaseException:
    if isinstance(error, BackproofError | KeyboardInterrupt):
        return error
    return OperationError(f"age encryption failed: {error}")


class AgeEncryptingStage:
    """A push-style writer that age-encrypts into ``sink`` from a thread of its own."""

    def __init__(self, recipients: list[Any], sink: Writer) -> None:
        self.pipe = ChunkPipe()
        self.output = RecordingWriter(sink)
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._run, args=(recipients,), name="age-encrypt", daemon=True
        )
        self.thread.start()

    def _run(self, recipients: list[Any]) -> None:
        try:
            pyrage.encrypt_io(PipeReadEnd(self.pipe), self.output, recipients)
        except Exception as exc:
            self.error = self.output.error or exc
            self.pipe.break_pipe()

    def write(self, data: bytes) -> int:
        """Pass ``data`` to the encrypting thread; raise its error if it stopped."""
        try:
            self.pipe.put(bytes(data))
        except BrokenPipeError:
            raise _stage_failure(self.error or BrokenPipeError("encryption stopped")) from None
        return len(data)

    def close(self) -> None:
        """Flush the last chunk and the age footer into the sink; raise the thread's error."""
        self.pipe.finish()
        self.thread.join()
        if self.error is not None:
            raise _stage_failure(self.error)

    def abort(self) -> None:
        """Stop the thread without finishing the stream."""
        self.pipe.break_pipe()
        self.thread.join()

    def stage(self) -> StreamStage:
        """Return this as a stage of a PartWriter."""
        return StreamStage(self.write, self.close, self.abort)


def make_encryptor(recipients: list[Any]) -> Encryptor | None:
    """Return the PartWriter hook that encrypts to ``recipients``, or None without any."""
    if not recipients:
        return None

    def encrypt_into(sink: Writer) -> StreamStage:
        return AgeEncryptingStage(recipients, sink).stage()

    return encrypt_into


class AgeDecryptingReader(io.RawIOBase):
    """A readable stream of ``source`` decrypted by a thread of its own."""

    def __init__(self, source: Readable, identities: list[Any], where: str) -> None:
        super().__init__()
        self.where = where
        self.pipe = ChunkPipe()
        self.source = RecordingReader(source)
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._run, args=(identities,), name="age-decrypt", daemon=True
        )
        self.thread.start()

    def _run(self, identities: list[Any]) -> None:
        try:
            pyrage.decrypt_io(self.source, PipeWriteEnd(self.pipe), identities)
        except Exception as exc:
            self.error = self.source.error or exc
        self.pipe.finish()

    def readable(self) -> bool:
        """Return True: this is a stream to read."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` with decrypted bytes; raise the decryption's error at its point."""
        view = memoryview(buffer).cast("B")
        data = self.pipe.get(len(view))
        if not data and self.error is not None:
            raise self._failure(self.error)
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Stop the thread and close."""
        if not self.closed:
            self.pipe.break_pipe()
            self.thread.join()
        super().close()

    def _failure(self, error: BaseException) -> BaseException:
        if isinstance(error, BackproofError):
            return error
        if NO_MATCHING_KEY in str(error):
            return RestoreError(
                f"cannot decrypt {self.where}: encryption.identity_file holds no identity of "
                "the recipients it was encrypted to"
            )
        return IntegrityError(f"cannot decrypt {self.where}: {error} (corrupt or altered)")


def open_decrypted(source: Readable, identities: list[Any], where: str) -> BinaryIO:
    """Return a buffered stream of ``source`` decrypted with ``identities``."""
    return io.BufferedReader(AgeDecryptingReader(source, identities, where))


def prove_decryptable(open_source: Callable[[], BinaryIO], keys: ReadingKeys, where: str) -> None:
    """Decrypt the start of a part: a wrong or missing identity fails before any import.

    Raises RestoreError naming what to fix.
    """
    identities = keys.identities()
    with open_source() as source, open_decrypted(source, identities, where) as decrypted:
        decrypted.read(1)
