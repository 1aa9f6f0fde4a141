"""Fixtures for the jobs: chunks stored through the real vault, and the call-loop harness."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import pytest

from jobs.models import JobRun
from jobs.registry import JOBS
from jobs.runner import JobContext, run_job
from service.call_loop import recording_identity
from service.calls import CallerGeo, open_call
from service.db import transaction
from service.models import Call, RecordingChunk, new_id
from service.runtime import Runtime
from tests.conftest import DATA

SPEECH = (DATA / "caller_full_30s.wav").read_bytes()
NOW = dt.datetime.now(dt.UTC)


@dataclass
class Seeded:
    call_ids: list[str]
    chunk_ids: list[str]


def seed(
    runtime: Runtime, calls: int, chunks_per_call: int = 1, *, audio: bytes = SPEECH, number: str = "+15550100001"
) -> Seeded:
    """Calls and chunks stored encrypted through the same code the call loop uses."""
    call_ids, chunk_ids = [], []
    for _ in range(calls):
        with transaction(runtime.sessions) as session:
            call = open_call(
                session, runtime.vault, runtime.pseudonyms, call_sid="CA" + new_id().replace("-", ""),
                caller_number=number, called_number="+15550100999", geo=CallerGeo("SPRINGFIELD", "IL", "62701", "US"),
            )  # fmt: skip
            call.status, call.ended_at = "completed", call.started_at
            call_ids.append(call.id)
            for n in range(1, chunks_per_call + 1):
                chunk = RecordingChunk(
                    id=new_id(), call_id=call.id, chunk_number=n, recording_sid="RE" + new_id().replace("-", ""),
                    recording_url="https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0", duration_s=30,
                    storage_state="stored",
                )  # fmt: skip
                session.add(chunk)
                session.flush()
                stored = runtime.vault.put(
                    session, recording_identity(chunk), f"calls/{call.id}/{chunk.id}.wav.enc", audio
                )
                chunk.storage_key, chunk.data_key_id = stored.storage_key, stored.data_key_id
                chunk.plaintext_sha256, chunk.size_bytes = stored.plaintext_sha256, stored.size_bytes
                chunk_ids.append(chunk.id)
    return Seeded(call_ids, chunk_ids)


def run(
    runtime: Runtime, name: str, *, days_ahead: float = 0, dry_run: bool = False, limit: int | None = None
) -> tuple[JobRun, JobContext]:
    lines: list[str] = []
    ctx = JobContext(runtime, name, NOW + dt.timedelta(days=days_ahead), dry_run=dry_run, limit=limit, say=lines.append)
    ctx.details["_lines"] = lines
    return run_job(JOBS[name], ctx), ctx


def pcm_of(audio: bytes) -> str:
    from service.audio import pcm_sha256

    return pcm_sha256(audio)


def chunk(runtime: Runtime, chunk_id: str) -> RecordingChunk:
    with runtime.readers() as session:
        row = session.get(RecordingChunk, chunk_id)
        assert row is not None
        session.expunge(row)
        return row


def call_row(runtime: Runtime, call_id: str) -> Call | None:
    with runtime.readers() as session:
        row = session.get(Call, call_id)
        if row is not None:
            session.expunge(row)
        return row


@pytest.fixture
def sha_of_speech() -> str:
    return hashlib.sha256(SPEECH).hexdigest()
