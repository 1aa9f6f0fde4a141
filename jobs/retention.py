"""retention: delete what the policy says is due, unless a legal hold stops it.

Deleting an object destroys its data key (crypto-shredding: even backups of the store become unreadable),
marks the row, and writes a signed deletion record, all in one transaction; the blob is then removed from the
store, and the row forgets its key only once the blob is gone, so a rerun finishes what a killed run began.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from compliance.deletions import record_deletion
from compliance.holds import active_condition, held_call_ids
from compliance.models import LegalHold
from compliance.retention import (
    CALL_METADATA,
    JOB_RUNS,
    RECORDING,
    REPLY,
    TRANSCRIPT,
    Policy,
    RetentionPolicy,
)  # fmt: skip
from jobs.models import JobRun
from jobs.runner import JobContext
from service.db import transaction, utcnow
from service.errors import ServiceError
from service.media import delete_at_twilio
from service.models import Call, RecordingChunk
from service.settings import Settings

log = logging.getLogger(__name__)


def policy_from(settings: Settings) -> RetentionPolicy:
    """The configured policy."""
    return RetentionPolicy.from_days(
        recording=settings.retention_recording_days,
        reply=settings.retention_reply_days,
        transcript=settings.retention_transcript_days,
        call_metadata=settings.retention_call_metadata_days,
        audit_events=settings.retention_audit_days,
        job_runs=settings.retention_job_runs_days,
    )


@dataclass(frozen=True)
class BlobClass:
    """One class of per-chunk object: which columns hold it and which policy governs it."""

    data_class: str
    deleted_at: InstrumentedAttribute[dt.datetime | None]
    present: Callable[[], ColumnElement[bool]]


def _classes() -> list[BlobClass]:
    return [
        BlobClass(RECORDING, RecordingChunk.deleted_at, lambda: RecordingChunk.data_key_id.is_not(None)),
        BlobClass(REPLY, RecordingChunk.reply_deleted_at, lambda: RecordingChunk.response_data_key_id.is_not(None)),
        BlobClass(
            TRANSCRIPT, RecordingChunk.turn_text_deleted_at, lambda: RecordingChunk.turn_text_key_id.is_not(None)
        ),
    ]  # fmt: skip


def retention(ctx: JobContext) -> None:
    """Apply every policy."""
    policy = policy_from(ctx.runtime.settings)
    remove_leftover_blobs(ctx)
    with ctx.runtime.readers() as session:
        held = held_call_ids(session, ctx.as_of)
    ctx.details["held_calls"] = len(held)
    for blob_class in _classes():
        delete_chunk_objects(ctx, blob_class, policy.governing(blob_class.data_class), held)
    delete_call_metadata(ctx, policy.governing(CALL_METADATA, RECORDING, REPLY, TRANSCRIPT), held)
    delete_job_runs(ctx, policy.governing(JOB_RUNS))


def delete_chunk_objects(ctx: JobContext, blob_class: BlobClass, policy: Policy, held: set[str]) -> None:
    """Shred and remove one class of object from every due chunk of calls without an active hold."""
    candidates = (
        select(RecordingChunk.id)
        .where(
            blob_class.deleted_at.is_(None),
            blob_class.present(),
            RecordingChunk.recorded_at < policy.cutoff(ctx.as_of),
            RecordingChunk.call_id.not_in(held) if held else RecordingChunk.call_id.is_not(None),
        )
        .order_by(RecordingChunk.recorded_at, RecordingChunk.id)
    )
    for batch in ctx.batches(candidates):
        for chunk_id in batch:
            ctx.count("examined")
            if ctx.dry_run:
                ctx.say(f"would delete the {blob_class.data_class} of chunk {chunk_id} (policy {policy.name})")
                continue
            blob_key = _shred(ctx, chunk_id, blob_class, policy)
            if blob_key is not None:
                ctx.runtime.store.delete(blob_key)
                _forget_blob(ctx, chunk_id, blob_class)
            if blob_class.data_class == RECORDING:
                _delete_twilio_copy(ctx, chunk_id)
            ctx.count("changed")


def _shred(ctx: JobContext, chunk_id: str, blob_class: BlobClass, policy: Policy) -> str | None:
    """In one transaction: destroy the data key, mark the row, sign a deletion record. Returns the blob key."""
    now = utcnow()
    with transaction(ctx.runtime.sessions) as session:
        chunk = session.get(RecordingChunk, chunk_id)
        assert chunk is not None
        if _held(session, chunk.call_id, ctx.as_of):  # placed since the batch was chosen: the hold wins
            chunk.lease_owner = chunk.lease_until = None
            ctx.count("skipped")
            return None
        if blob_class.data_class == RECORDING:
            key_id, blob_key, sha = chunk.data_key_id, chunk.storage_key, chunk.plaintext_sha256
            chunk.deleted_at = now
        elif blob_class.data_class == REPLY:
            key_id, blob_key, sha = chunk.response_data_key_id, chunk.response_audio_key, None
            chunk.reply_deleted_at = now
        else:
            key_id, blob_key, sha = chunk.turn_text_key_id, None, None
            chunk.turn_text_deleted_at, chunk.turn_text_sealed = now, None
        if key_id is not None:
            ctx.runtime.vault.keys.destroy(session, key_id)
        record_deletion(
            session, ctx.runtime.signer, object_type=blob_class.data_class, object_id=chunk.id, call_id=chunk.call_id,
            policy=policy.name, deleted_at=now, plaintext_sha256=sha, data_key_id=key_id,
            details={"chunk_number": chunk.chunk_number, "recorded_at": chunk.recorded_at.isoformat(),
                     "storage_key": blob_key, "job": ctx.name},
        )  # fmt: skip
        chunk.lease_owner = chunk.lease_until = None
        return blob_key


def _forget_blob(ctx: JobContext, chunk_id: str, blob_class: BlobClass) -> None:
    with transaction(ctx.runtime.sessions) as session:
        chunk = session.get(RecordingChunk, chunk_id)
        assert chunk is not None
        if blob_class.data_class == RECORDING:
            chunk.storage_key = None
        elif blob_class.data_class == REPLY:
            chunk.response_audio_key = None


def _delete_twilio_copy(ctx: JobContext, chunk_id: str) -> None:
    """With HOTLINE_DELETE_FROM_TWILIO, remove Twilio's copy too if one remains."""
    settings = ctx.runtime.settings
    if not (settings.delete_from_twilio and settings.twilio_account_sid and settings.twilio_auth_token):
        return
    with ctx.runtime.readers() as session:
        chunk = session.get(RecordingChunk, chunk_id)
        if chunk is None or chunk.twilio_deleted_at is not None:
            return
        url = chunk.recording_url
    try:
        deleted = delete_at_twilio(
            url, settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(), settings.media_hosts
        )
    except ServiceError as exc:
        log.warning("Twilio copy not deleted: %s", exc, extra={"chunk_id": chunk_id})
        return
    if deleted:
        with transaction(ctx.runtime.sessions) as session:
            row = session.get(RecordingChunk, chunk_id)
            if row is not None:
                row.twilio_deleted_at = utcnow()


def _held(session: Session, call_id: str, as_of: dt.datetime) -> bool:
    return (
        session.scalars(select(LegalHold.id).where(LegalHold.call_id == call_id, active_condition(as_of))).first()
        is not None
    )


def remove_leftover_blobs(ctx: JobContext) -> None:
    """Finish deletions a killed run began: the key is shredded, the blob may still be in the store."""
    if ctx.dry_run:
        return
    with ctx.runtime.readers() as session:
        rows = session.execute(
            select(RecordingChunk.id, RecordingChunk.storage_key, RecordingChunk.response_audio_key).where(
                (RecordingChunk.deleted_at.is_not(None) & RecordingChunk.storage_key.is_not(None))
                | (RecordingChunk.reply_deleted_at.is_not(None) & RecordingChunk.response_audio_key.is_not(None))
            )
        ).all()
    for chunk_id, recording_key, reply_key in rows:
        with ctx.runtime.readers() as session:
            chunk = session.get(RecordingChunk, chunk_id)
            assert chunk is not None
            if chunk.deleted_at is not None and recording_key:
                ctx.runtime.store.delete(recording_key)
                _forget_blob(ctx, chunk_id, _classes()[0])
            if chunk.reply_deleted_at is not None and reply_key:
                ctx.runtime.store.delete(reply_key)
                _forget_blob(ctx, chunk_id, _classes()[1])


def delete_call_metadata(ctx: JobContext, policy: Policy, held: set[str]) -> None:
    """Remove calls (and their chunk rows) past the metadata policy, once every object of them is gone."""
    cutoff = policy.cutoff(ctx.as_of)
    with ctx.runtime.readers() as session:
        query = select(Call.id).where(Call.started_at < cutoff).order_by(Call.started_at)
        if held:
            query = query.where(Call.id.not_in(held))
        call_ids = list(session.scalars(query.limit(ctx.remaining)))
    for call_id in call_ids:
        ctx.count("examined")
        if ctx.dry_run:
            ctx.say(f"would delete the metadata of call {call_id} (policy {policy.name})")
            continue
        now = utcnow()
        with transaction(ctx.runtime.sessions) as session:
            call = session.get(Call, call_id)
            if call is None or _held(session, call_id, ctx.as_of):
                ctx.count("skipped")
                continue
            if any(c.storage_key or c.response_audio_key or c.turn_text_sealed for c in call.chunks):
                ctx.count("skipped")  # objects not yet deleted (e.g. a shorter policy pending): next run
                continue
            if session.scalars(select(LegalHold.id).where(LegalHold.call_id == call_id)).first() is not None:
                ctx.count("skipped")  # the call anchors its legal-hold history, which is kept
                continue
            if call.caller_number_key_id is not None:
                ctx.runtime.vault.keys.destroy(session, call.caller_number_key_id)
            session.execute(delete(RecordingChunk).where(RecordingChunk.call_id == call_id))
            record_deletion(
                session, ctx.runtime.signer, object_type="call", object_id=call_id, call_id=call_id,
                policy=policy.name, deleted_at=now, data_key_id=call.caller_number_key_id,
                details={"started_at": call.started_at.isoformat(), "chunks": len(call.chunks), "job": ctx.name},
            )  # fmt: skip
            session.delete(call)
        ctx.count("changed")


def delete_job_runs(ctx: JobContext, policy: Policy) -> None:
    """Old ledger rows (never the running ones)."""
    cutoff = policy.cutoff(ctx.as_of)
    with ctx.runtime.readers() as session:
        due = list(session.scalars(select(JobRun.id).where(JobRun.started_at < cutoff, JobRun.outcome != "running")))
    ctx.count("examined", len(due))
    if ctx.dry_run or not due:
        if due:
            ctx.say(f"would delete {len(due)} job-run rows (policy {policy.name})")
        return
    with transaction(ctx.runtime.sessions) as session:
        session.execute(delete(JobRun).where(JobRun.id.in_(due)))
    ctx.count("changed", len(due))
