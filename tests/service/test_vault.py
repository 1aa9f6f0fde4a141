"""The encrypted store end to end: sealed on the way in, authenticated and checked on the way out."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest

from compliance.crypto import ObjectIdentity
from compliance.datakeys import rewrap_to_active
from compliance.errors import DecryptionError, KeyUnavailableError
from compliance.keys import KeyringProvider
from compliance.models import DataKey
from service.db import transaction
from service.errors import IntegrityError
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.conftest import DATA, make_settings

AUDIO = (DATA / "caller_full_30s.wav").read_bytes()


def store_chunk(runtime: Runtime, call_id: str, number: int, audio: bytes = AUDIO) -> tuple[ObjectIdentity, str, int]:
    identity = ObjectIdentity("recording", call_id, number)
    key = f"calls/{call_id}/chunk-{number:04d}.wav.bin"
    with transaction(runtime.sessions) as session:
        stored = runtime.vault.put(session, identity, key, audio)
    assert stored.plaintext_sha256 == hashlib.sha256(audio).hexdigest()
    assert stored.size_bytes == len(audio)
    return identity, key, stored.data_key_id


def load(runtime: Runtime, identity: ObjectIdentity, key: str, data_key_id: int, sha: str | None = None) -> bytes:
    with transaction(runtime.sessions) as session:
        return runtime.vault.get(session, identity, key, data_key_id, sha)


def test_round_trip_and_nothing_plain_on_disk(runtime: Runtime, tmp_path: Path) -> None:
    identity, key, key_id = store_chunk(runtime, "call-a", 1)
    assert load(runtime, identity, key, key_id, hashlib.sha256(AUDIO).hexdigest()) == AUDIO
    blob = (tmp_path / "store" / key).read_bytes()
    assert AUDIO[1000:1064] not in blob
    assert b"RIFF" not in blob[:64]


def test_each_object_gets_its_own_data_key(runtime: Runtime) -> None:
    ids = {store_chunk(runtime, "call-a", n)[2] for n in range(1, 4)}
    assert len(ids) == 3


def test_blob_swapped_between_chunks_fails_naming_the_object(runtime: Runtime, tmp_path: Path) -> None:
    first, first_key, first_dk = store_chunk(runtime, "call-a", 1, b"first chunk audio")
    _second, second_key, second_dk = store_chunk(runtime, "call-a", 2, b"second chunk audio")
    root = tmp_path / "store"
    a, b = (root / first_key).read_bytes(), (root / second_key).read_bytes()
    (root / first_key).write_bytes(b)
    (root / second_key).write_bytes(a)
    with pytest.raises(DecryptionError, match="call call-a chunk 1"):
        load(runtime, first, first_key, first_dk)
    # Swapping the key reference along with the blob is caught by the identity bound into the ciphertext.
    with pytest.raises(DecryptionError, match="call call-a chunk 1"):
        load(runtime, first, first_key, second_dk)


def test_tampered_and_truncated_blobs_fail(runtime: Runtime, tmp_path: Path) -> None:
    identity, key, key_id = store_chunk(runtime, "call-b", 1)
    path = tmp_path / "store" / key
    original = path.read_bytes()
    path.write_bytes(original[:-1])
    with pytest.raises(DecryptionError, match="call-b"):
        load(runtime, identity, key, key_id)
    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 0x01
    path.write_bytes(bytes(tampered))
    with pytest.raises(DecryptionError, match="call-b"):
        load(runtime, identity, key, key_id)


def test_checksum_mismatch_is_an_integrity_error(runtime: Runtime) -> None:
    identity, key, key_id = store_chunk(runtime, "call-c", 1)
    with pytest.raises(IntegrityError, match="checksum"):
        load(runtime, identity, key, key_id, "0" * 64)


def test_wrong_keyring_is_a_clear_error(runtime: Runtime, tmp_path: Path, settings: Settings) -> None:
    identity, key, key_id = store_chunk(runtime, "call-d", 1)
    from compliance.keys import Keyring

    other = tmp_path / "other.json"
    Keyring.create(other)
    stranger = build_runtime(make_settings(tmp_path, settings.database_url, other))
    try:
        with pytest.raises(KeyUnavailableError, match="point HOTLINE_KEYRING at the right keyring"):
            load(stranger, identity, key, key_id)
    finally:
        stranger.close()


def test_crypto_shredding_defeats_a_blob_backup(runtime: Runtime, tmp_path: Path) -> None:
    identity, key, key_id = store_chunk(runtime, "call-e", 1)
    backup = (tmp_path / "store" / key).read_bytes()
    with transaction(runtime.sessions) as session:
        runtime.vault.keys.destroy(session, key_id)
        runtime.store.delete(key)
    runtime.store.put(key, backup)  # restored from a backup of the blob store
    with pytest.raises(KeyUnavailableError, match="crypto-shredded"):
        load(runtime, identity, key, key_id)
    with transaction(runtime.sessions) as session:
        row = session.get(DataKey, key_id)
        assert row is not None
        assert row.wrapped_key is None
        assert row.destroyed_at is not None


def test_rotation_rewraps_keys_without_touching_blobs(runtime: Runtime, tmp_path: Path) -> None:
    stored = [store_chunk(runtime, "call-f", n) for n in range(1, 8)]
    blobs_before = {key: (tmp_path / "store" / key).read_bytes() for _, key, _ in stored}
    runtime.keyring.add_version()
    provider = KeyringProvider(runtime.keyring)
    total = 0
    while True:
        with transaction(runtime.sessions) as session:
            done = rewrap_to_active(session, provider, batch_size=3)
        total += done
        if not done:
            break
    assert total == 7
    with transaction(runtime.sessions) as session:
        assert {row.kek_version for row in session.query(DataKey)} == {2}
    assert {key: (tmp_path / "store" / key).read_bytes() for _, key, _ in stored} == blobs_before
    runtime.keyring.retire(1)
    for identity, key, key_id in stored:
        assert load(runtime, identity, key, key_id) == AUDIO


def test_kms_wrapped_objects_on_s3(tmp_path: Path, database_url: str, keyring_path: Path, moto_endpoint: str) -> None:
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket="kms-store")
    settings = make_settings(
        tmp_path,
        database_url,
        keyring_path,
        storage_url="s3://kms-store/p",
        s3_endpoint_url=moto_endpoint,
        kms_key_id=key_arn,
    )
    runtime = build_runtime(settings)
    try:
        identity, key, key_id = store_chunk(runtime, "call-g", 1)
        with transaction(runtime.sessions) as session:
            row = session.get(DataKey, key_id)
            assert row is not None
            assert (row.provider, row.kek_id, row.kek_version) == ("kms", key_arn, None)
        assert load(runtime, identity, key, key_id, hashlib.sha256(AUDIO).hexdigest()) == AUDIO
    finally:
        runtime.close()
