"""Both blob stores behave alike; the local one writes atomically with mode 0600 and keeps keys inside its root;
the S3 one is exercised over HTTP against moto's server."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import boto3
import pytest

from service.errors import InvalidStorageKeyError, ObjectNotFoundError, StorageUnavailableError
from service.settings import Settings
from service.storage import BlobStore, LocalStore, S3Store, open_store
from service.storage.s3 import make_s3_client


def s3_settings(endpoint: str, bucket: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        storage_url=f"s3://{bucket}/recordings",
        s3_endpoint_url=endpoint,
        keyring=tmp_path / "keyring.json",
    )


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = f"hotline-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return open_store(s3_settings(endpoint, bucket, tmp_path))


def test_put_get_delete(store: BlobStore) -> None:
    store.put("calls/c1/chunk-0001.bin", b"sealed bytes")
    assert store.exists("calls/c1/chunk-0001.bin")
    assert store.get("calls/c1/chunk-0001.bin") == b"sealed bytes"
    store.put("calls/c1/chunk-0001.bin", b"replaced")
    assert store.get("calls/c1/chunk-0001.bin") == b"replaced"
    assert store.delete("calls/c1/chunk-0001.bin") is True
    assert store.delete("calls/c1/chunk-0001.bin") is False
    assert not store.exists("calls/c1/chunk-0001.bin")
    with pytest.raises(ObjectNotFoundError, match="chunk-0001"):
        store.get("calls/c1/chunk-0001.bin")
    store.check()


@pytest.mark.parametrize(
    "key",
    [
        "../escape",
        "calls/../../etc/passwd",
        "/etc/passwd",
        "calls//x",
        "",
        ".hidden",
        "calls/x/",
        "a\\b",
        "a b",
    ],
)
def test_unsafe_keys_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidStorageKeyError):
        store.put(key, b"x")
    with pytest.raises(InvalidStorageKeyError):
        store.get(key)


def test_local_files_are_0600_and_writes_leave_no_temporaries(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    store.put("calls/c1/chunk-0001.bin", b"x" * 1000)
    path = tmp_path / "store" / "calls" / "c1" / "chunk-0001.bin"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["chunk-0001.bin"]


def test_local_symlink_out_of_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store = LocalStore(tmp_path / "store")
    store.check()
    (tmp_path / "store" / "link").symlink_to(outside)
    with pytest.raises(InvalidStorageKeyError, match="outside"):
        store.put("link/evil.bin", b"x")
    assert list(outside.iterdir()) == []


def test_local_write_failure_is_storage_unavailable(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = LocalStore(root)
    store.check()
    (root / "calls").write_text("a file where a directory should be")
    with pytest.raises(StorageUnavailableError, match="Cannot write"):
        store.put("calls/c1/chunk.bin", b"x")


def test_s3_archive_tier_uses_the_storage_class(moto_endpoint: str, tmp_path: Path) -> None:
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="hotline-archive")
    store = open_store(s3_settings(moto_endpoint, "hotline-archive", tmp_path))
    assert isinstance(store, S3Store)
    store.put("archive/c1/chunk-0001.flac.bin", b"archived", tier="archive")
    store.put("calls/c1/chunk-0002.bin", b"hot")
    head = client.head_object(Bucket="hotline-archive", Key="recordings/archive/c1/chunk-0001.flac.bin")
    assert head["StorageClass"] == "GLACIER_IR"
    hot = client.head_object(Bucket="hotline-archive", Key="recordings/calls/c1/chunk-0002.bin")
    assert hot.get("StorageClass", "STANDARD") == "STANDARD"


def test_s3_unreachable_is_storage_unavailable(tmp_path: Path) -> None:
    settings = s3_settings("http://127.0.0.1:9", "nowhere", tmp_path)
    store = S3Store(make_s3_client(settings), "nowhere", "", "GLACIER_IR")
    with pytest.raises(StorageUnavailableError):
        store.check()
    with pytest.raises(StorageUnavailableError):
        store.put("calls/x.bin", b"x")


def test_s3_missing_bucket_is_reported(moto_endpoint: str, tmp_path: Path) -> None:
    store = open_store(s3_settings(moto_endpoint, "no-such-bucket", tmp_path))
    with pytest.raises(StorageUnavailableError, match="no-such-bucket"):
        store.check()
