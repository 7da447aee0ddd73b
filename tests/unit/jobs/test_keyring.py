"""Which key signs and which keys are trusted (issue 9 item 1)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backproof.archive.authentication import fingerprint, public_key_text
from backproof.errors import NotFoundError
from backproof.jobs.context import Context, open_context
from backproof.jobs.keyring import (
    generated_key_path,
    show_key,
    signing_key,
    trusted_keys,
)
from backproof.state.signing_keys import recorded_signing_keys


def write_key(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    return key


def sign_once(context: Context) -> str:
    signer = signing_key(context.settings, context.activities.engine, context.clock())
    return signer.fingerprint


def test_the_first_signing_generates_a_private_pair_and_records_the_public_half(
    memory_context: Context,
):
    signer = signing_key(
        memory_context.settings, memory_context.activities.engine, memory_context.clock()
    )

    path = generated_key_path(memory_context.settings)
    assert signer.created == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    recorded = recorded_signing_keys(memory_context.activities.engine)
    assert [item.fingerprint for item in recorded] == [signer.fingerprint]
    assert recorded[0].public_key.startswith("ssh-ed25519 ")


def test_later_signings_reuse_the_pair_without_saying_it_was_created(memory_context: Context):
    first = sign_once(memory_context)
    again = signing_key(
        memory_context.settings, memory_context.activities.engine, memory_context.clock()
    )

    assert again.fingerprint == first
    assert again.created is None
    assert len(recorded_signing_keys(memory_context.activities.engine)) == 1


def test_a_state_database_made_afresh_learns_the_key_again_at_the_next_backup(
    memory_context: Context, tmp_path: Path
):
    first = sign_once(memory_context)
    memory_context.settings.state.url = f"sqlite:///{tmp_path / 'fresh.db'}"
    fresh = open_context(memory_context.settings)

    assert trusted_keys(fresh.settings, fresh.activities.engine).keys == ()
    assert sign_once(fresh) == first
    trusted = trusted_keys(fresh.settings, fresh.activities.engine)
    assert [fingerprint(key) for key in trusted.keys] == [first]
    fresh.activities.engine.dispose()


def test_a_configured_signing_key_wins_over_the_generated_pair(
    memory_context: Context, tmp_path: Path
):
    configured = write_key(tmp_path / "signing")
    memory_context.settings.encryption.signing_key_file = tmp_path / "signing"

    signed_by = sign_once(memory_context)
    trusted = trusted_keys(memory_context.settings, memory_context.activities.engine)

    assert signed_by == fingerprint(configured.public_key())
    assert not generated_key_path(memory_context.settings).exists()
    assert [fingerprint(key) for key in trusted.keys] == [signed_by]


def test_a_configured_verify_key_is_the_only_key_trusted(memory_context: Context):
    sign_once(memory_context)
    other = Ed25519PrivateKey.generate().public_key()
    memory_context.settings.encryption.verify_key = public_key_text(other)

    trusted = trusted_keys(memory_context.settings, memory_context.activities.engine)

    assert [fingerprint(key) for key in trusted.keys] == [fingerprint(other)]
    assert trusted.source == "encryption.verify_key"


def test_keys_show_does_not_generate_a_key(memory_context: Context):
    with pytest.raises(NotFoundError, match="no signing key yet"):
        show_key(memory_context.settings, memory_context.activities.engine)

    assert not generated_key_path(memory_context.settings).exists()


def test_keys_show_prints_the_key_that_signs(memory_context: Context):
    signed_by = sign_once(memory_context)

    shown = show_key(memory_context.settings, memory_context.activities.engine)

    assert shown.fingerprint == signed_by
    assert shown.public_key.startswith("ssh-ed25519 AAAA")
    assert shown.public_key.endswith(" backproof")
