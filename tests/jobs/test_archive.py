"""archive: lossless FLAC on the archive tier, verified before the original goes; playback keeps working."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import httpx
from sqlalchemy import func, select

from compliance.models import DataKey
from service.audio import pcm_sha256
from service.call_loop import recording_identity
from service.runtime import Runtime, build_runtime
from tests.conftest import make_settings
from tests.jobs.conftest import SPEECH, chunk, run, seed
from tests.service.conftest import Harness


def read_back(runtime: Runtime, chunk_id: str) -> bytes:
    row = chunk(runtime, chunk_id)
    with runtime.readers() as session:
        assert row.storage_key and row.data_key_id
        return runtime.vault.get(
            session, recording_identity(row), row.storage_key, row.data_key_id, row.plaintext_sha256
        )


def test_archive_moves_old_chunks_to_flac(runtime: Runtime, tmp_path: Path) -> None:
    seeded = seed(runtime, calls=2, chunks_per_call=2)
    before = {cid: chunk(runtime, cid) for cid in seeded.chunk_ids}
    young, _ = run(runtime, "archive", days_ahead=29)
    assert (young.outcome, young.examined) == ("succeeded", 0)
    result, ctx = run(runtime, "archive", days_ahead=31)
    assert (result.outcome, result.examined, result.changed, result.failed) == ("succeeded", 4, 4, 0)
    assert ctx.details["compression_ratio"] > 1.2
    for chunk_id in seeded.chunk_ids:
        row = chunk(runtime, chunk_id)
        assert (row.codec, row.tier, row.superseded_key) == ("flac", "archive", None)
        assert row.archived_at is not None and row.lease_owner is None
        assert row.storage_key and row.storage_key.startswith("archive/")
        assert row.pcm_sha256 == pcm_sha256(SPEECH)
        assert pcm_sha256(read_back(runtime, chunk_id)) == pcm_sha256(SPEECH)
        assert row.size_bytes is not None and row.size_bytes < len(SPEECH)
        old = before[chunk_id]
        assert not (tmp_path / "store" / str(old.storage_key)).exists()
        with runtime.readers() as session:
            old_key = session.get(DataKey, old.data_key_id)
            assert old_key is not None and old_key.wrapped_key is None
    again, _ = run(runtime, "archive", days_ahead=31)
    assert again.examined == 0


def test_dry_run_changes_nothing(runtime: Runtime) -> None:
    seeded = seed(runtime, calls=1, chunks_per_call=2)
    result, ctx = run(runtime, "archive", days_ahead=31, dry_run=True)
    assert (result.examined, result.changed, result.dry_run) == (2, 0, True)
    assert len(ctx.details["_lines"]) == 2
    assert all(chunk(runtime, c).tier == "hot" for c in seeded.chunk_ids)


def test_limit_bounds_the_run(runtime: Runtime) -> None:
    seed(runtime, calls=3)
    result, _ = run(runtime, "archive", days_ahead=31, limit=2)
    assert (result.examined, result.changed) == (2, 2)
    with runtime.readers() as session:
        from service.models import RecordingChunk

        assert (
            session.scalar(select(func.count()).select_from(RecordingChunk).where(RecordingChunk.tier == "archive"))
            == 2
        )


def test_archive_on_s3_uses_the_archive_storage_class(
    tmp_path: Path, database_url: str, keyring_path: Path, moto_endpoint: str
) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = f"archive-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    runtime = build_runtime(make_settings(tmp_path, database_url, keyring_path, storage_url=f"s3://{bucket}/rec",
                                          s3_endpoint_url=moto_endpoint))  # fmt: skip
    try:
        seeded = seed(runtime, calls=1)
        result, _ = run(runtime, "archive", days_ahead=31)
        assert result.changed == 1
        row = chunk(runtime, seeded.chunk_ids[0])
        head = s3.head_object(Bucket=bucket, Key=f"rec/{row.storage_key}")
        assert head["StorageClass"] == "GLACIER_IR"
        assert pcm_sha256(read_back(runtime, row.id)) == pcm_sha256(SPEECH)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        assert keys == [f"rec/{row.storage_key}"]
    finally:
        runtime.close()


def test_archived_chunks_still_play_through_the_api(harness: Harness) -> None:
    service = harness.start()
    assert harness.call(service, chunks=1).ok
    result, _ = run(service.runtime, "archive", days_ahead=31)
    assert result.changed == 1
    from service.db import transaction
    from service.users import add_user

    with transaction(service.runtime.sessions) as session:
        token = add_user(session, "c", "counselor", actor="t")
    with service.runtime.readers() as session:
        from service.models import RecordingChunk

        row = session.scalars(select(RecordingChunk)).one()
    reply = httpx.get(
        f"{service.url}/api/chunks/{row.id}/audio?purpose=review", headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 200
    assert reply.content[:4] == b"RIFF"
    assert pcm_sha256(reply.content) == row.pcm_sha256
