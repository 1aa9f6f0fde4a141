"""Retention and export against S3 (moto's server over HTTP), and retention removing Twilio's copy."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from mypy_boto3_s3 import S3Client
from sqlalchemy import update

from service.db import transaction
from service.emulator import MediaServer
from service.models import RecordingChunk
from service.runtime import Runtime, build_runtime
from tests.conftest import make_settings
from tests.jobs.conftest import chunk, run, seed


@pytest.fixture
def s3_runtime(tmp_path: Path, database_url: str, keyring_path: Path, moto_endpoint: str):  # type: ignore[no-untyped-def]
    s3: S3Client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = f"jobs-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    settings = make_settings(
        tmp_path, database_url, keyring_path, storage_url=f"s3://{bucket}/rec", s3_endpoint_url=moto_endpoint,
        export_url=f"s3://{bucket}/analytics",
    )  # fmt: skip
    runtime = build_runtime(settings)
    try:
        yield runtime, s3, bucket
    finally:
        runtime.close()


def keys(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_retention_on_s3(s3_runtime: tuple[Runtime, S3Client, str]) -> None:
    runtime, s3, bucket = s3_runtime
    seeded = seed(runtime, calls=2)
    assert len(keys(s3, bucket, "rec/")) == 2
    result, _ = run(runtime, "retention", days_ahead=91)
    assert result.changed >= 2
    assert keys(s3, bucket, "rec/") == []
    assert all(chunk(runtime, c).deleted_at is not None for c in seeded.chunk_ids)


def test_export_to_s3(s3_runtime: tuple[Runtime, S3Client, str], tmp_path: Path) -> None:
    runtime, s3, bucket = s3_runtime
    seed(runtime, calls=5, chunks_per_call=2)
    run(runtime, "export", days_ahead=1)
    exported = keys(s3, bucket, "analytics/")
    assert len(exported) == 2
    chunks_key = next(k for k in exported if k.startswith("analytics/chunks/dt="))
    local = tmp_path / "downloaded.parquet"
    s3.download_file(bucket, chunks_key, str(local))
    assert pq.read_table(local).num_rows == 10


def test_retention_removes_a_remaining_twilio_copy(tmp_path: Path, database_url: str, keyring_path: Path) -> None:
    with MediaServer("AC" + "0" * 32, "synthetic-token") as media:
        settings = make_settings(
            tmp_path, database_url, keyring_path, delete_from_twilio=True, twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="synthetic-token", twilio_media_hosts=media.host_port,
        )  # fmt: skip
        runtime = build_runtime(settings)
        try:
            seeded = seed(runtime, calls=1)
            sid, url = media.add(b"RIFF....", 0)
            with transaction(runtime.sessions) as session:
                session.execute(update(RecordingChunk).values(recording_url=url, recording_sid=sid))
            run(runtime, "retention", days_ahead=91)
            assert sid in media.deleted
            assert chunk(runtime, seeded.chunk_ids[0]).twilio_deleted_at is not None
        finally:
            runtime.close()
