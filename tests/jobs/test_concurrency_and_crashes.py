"""Two processes running the same job never process an item twice; kill -9 at any point loses nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from compliance.models import DataKey, DeletionRecord
from jobs.models import JobRun
from service.models import RecordingChunk
from service.runtime import Runtime
from service.settings import Settings
from tests.jobs.conftest import NOW, SPEECH, pcm_of, seed
from tests.test_cli import HOTLINE, NO_DOTENV_DIR

FUTURE = (NOW.date().replace(year=NOW.year + 1)).isoformat()


def env_for(settings: Settings) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    return {
        **clean,
        "HOTLINE_DATABASE_URL": settings.database_url,
        "HOTLINE_STORAGE_URL": settings.storage_url,
        "HOTLINE_KEYRING": str(settings.keyring),
        "HOTLINE_JOB_BATCH_SIZE": "3",
    }


def start(settings: Settings, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [HOTLINE, "jobs", "run", *args], env=env_for(settings), cwd=NO_DOTENV_DIR, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def store_files(settings: Settings) -> set[str]:
    root = Path(settings.storage_url.removeprefix("file://"))
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_two_processes_archive_each_chunk_once(runtime: Runtime, settings: Settings) -> None:
    seeded = seed(runtime, calls=12, chunks_per_call=2)
    first, second = start(settings, "archive", "--as-of", FUTURE), start(settings, "archive", "--as-of", FUTURE)
    for process in (first, second):
        _out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    with runtime.readers() as session:
        runs = session.scalars(select(JobRun).where(JobRun.job_name == "archive")).all()
        assert len(runs) == 2 and all(r.outcome == "succeeded" for r in runs)
        assert sum(r.changed for r in runs) == len(seeded.chunk_ids)
        per_object = session.execute(
            select(DataKey.object_ref, func.count()).where(DataKey.purpose == "recording").group_by(DataKey.object_ref)
        ).all()
        # One key from the call loop, one from the archive: never a third from a second archiving.
        assert {count for _ref, count in per_object} == {2}
        assert (
            session.scalar(select(func.count()).select_from(RecordingChunk).where(RecordingChunk.tier != "archive"))
            == 0
        )


def test_two_processes_of_retention_write_one_record_per_deletion(runtime: Runtime, settings: Settings) -> None:
    seeded = seed(runtime, calls=10)
    first, second = start(settings, "retention", "--as-of", FUTURE), start(settings, "retention", "--as-of", FUTURE)
    for process in (first, second):
        _out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    with runtime.readers() as session:
        records = session.scalars(select(DeletionRecord.object_id).where(DeletionRecord.object_type == "recording"))
        assert sorted(records) == sorted(seeded.chunk_ids)


@pytest.mark.parametrize("job", ["archive", "retention"])
def test_kill_9_at_any_point_then_rerun_finishes_cleanly(runtime: Runtime, settings: Settings, job: str) -> None:
    seeded = seed(runtime, calls=30, chunks_per_call=2)
    done = (RecordingChunk.tier == "archive") if job == "archive" else RecordingChunk.deleted_at.is_not(None)

    def progressed() -> int:
        with runtime.readers() as session:
            return int(session.scalar(select(func.count()).select_from(RecordingChunk).where(done)) or 0)

    rng = random.Random(job)
    for _ in range(4):
        before, target = progressed(), rng.randint(1, 4)
        process = start(settings, job, "--as-of", FUTURE)
        # Kill once the run is under way, a few items in, wherever in an item's steps it happens to be.
        deadline = time.monotonic() + 60
        while progressed() < before + target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.02))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    with runtime.readers() as session:
        crashed = session.scalars(select(JobRun.outcome).where(JobRun.job_name == job)).all()
    # The kills landed while the job was working: it had started, and done part (not all) of the work.
    assert crashed and "succeeded" not in crashed
    assert 0 < progressed() < len(seeded.chunk_ids)
    final = start(settings, job, "--as-of", FUTURE)
    _out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err

    with runtime.readers() as session:
        chunks = session.scalars(select(RecordingChunk)).all()
        assert len(chunks) == len(seeded.chunk_ids)
        assert all(c.lease_owner is None and c.superseded_key is None for c in chunks)
        referenced = {c.storage_key for c in chunks if c.storage_key} | {
            c.response_audio_key for c in chunks if c.response_audio_key
        }
        # No row points at a missing blob, and no blob is left that no row points at.
        assert store_files(settings) == referenced
        runs = session.scalars(select(JobRun).where(JobRun.job_name == job).order_by(JobRun.id)).all()
        assert runs[-1].outcome == "succeeded"
        assert {r.outcome for r in runs[:-1]} <= {"crashed", "succeeded"}
        if job == "archive":
            assert all(c.tier == "archive" and c.pcm_sha256 == pcm_of(SPEECH) for c in chunks)
            from service.call_loop import recording_identity

            for c in chunks:
                assert c.storage_key and c.data_key_id
                audio = runtime.vault.get(
                    session, recording_identity(c), c.storage_key, c.data_key_id, c.plaintext_sha256
                )
                assert pcm_of(audio) == pcm_of(SPEECH)
        else:
            assert all(c.deleted_at is not None for c in chunks)
            ids = session.scalars(
                select(DeletionRecord.object_id).where(DeletionRecord.object_type == "recording")
            ).all()
            assert sorted(ids) == sorted(seeded.chunk_ids)  # exactly one record per deletion
            destroyed = session.scalars(select(DataKey).where(DataKey.purpose == "recording")).all()
            assert all(k.wrapped_key is None for k in destroyed)
