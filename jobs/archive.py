"""archive: old chunks re-encoded losslessly to FLAC, sealed under a new data key, moved to the archive tier.

Order, so that a kill at any point loses nothing and leaves nothing half-done: write the FLAC copy, read it
back and compare the decoded PCM's SHA-256 with the original's; only then point the row at it (and shred the
old data key) in one transaction; only then remove the old blob. The old blob's key is kept on the row
(`superseded_key`) until it is gone, so a rerun finishes the removal.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from jobs.runner import JobContext
from service.audio import pcm_sha256, wav_to_flac
from service.call_loop import recording_identity
from service.db import transaction, utcnow
from service.errors import ServiceError
from service.models import RecordingChunk

log = logging.getLogger(__name__)
WORKERS = 4


class ArchiveVerificationError(ServiceError):
    """The archived copy did not decode to the same samples as the original."""


def archive(ctx: JobContext) -> None:
    """Archive every hot chunk older than HOTLINE_ARCHIVE_AFTER_DAYS."""
    remove_superseded(ctx)
    cutoff = ctx.as_of - dt.timedelta(days=ctx.runtime.settings.archive_after_days)
    candidates = (
        select(RecordingChunk.id)
        .where(
            RecordingChunk.tier == "hot",
            RecordingChunk.codec == "wav",
            RecordingChunk.storage_state == "stored",
            RecordingChunk.deleted_at.is_(None),
            RecordingChunk.recorded_at < cutoff,
        )
        .order_by(RecordingChunk.recorded_at, RecordingChunk.id)
    )
    with ctx.runtime.readers() as session:
        ctx.set_total(int(session.scalar(select(func.count()).select_from(candidates.subquery())) or 0))
    ctx.details.update(bytes_in=0, bytes_out=0)
    # FLAC coding and AES run outside the GIL: a few workers keep both cores busy.
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for batch in ctx.batches(candidates):
            if ctx.dry_run:
                for chunk_id in batch:
                    ctx.count("examined")
                    ctx.say(f"would archive chunk {chunk_id}")
                continue
            try:
                for sizes in pool.map(lambda chunk_id: _archive_or_report(ctx, chunk_id), batch):
                    ctx.count("examined")
                    if sizes is None:
                        ctx.count("failed")
                        continue
                    ctx.count("changed")
                    ctx.details["bytes_in"] += sizes[0]
                    ctx.details["bytes_out"] += sizes[1]
            finally:
                ctx.release(batch)  # leases of chunks that failed; finished ones were released with their row
    if ctx.details["bytes_out"]:
        ctx.details["compression_ratio"] = round(ctx.details["bytes_in"] / ctx.details["bytes_out"], 3)


def _archive_or_report(ctx: JobContext, chunk_id: str) -> tuple[int, int] | None:
    try:
        return archive_one(ctx, chunk_id)
    except ServiceError as exc:
        log.warning("chunk not archived: %s", exc, extra={"chunk_id": chunk_id})
        return None


def archive_one(ctx: JobContext, chunk_id: str) -> tuple[int, int]:
    """Archive one chunk this run holds the lease of; returns the bytes before and after."""
    runtime = ctx.runtime
    vault = runtime.vault
    with runtime.readers() as session:
        chunk = session.get(RecordingChunk, chunk_id)
        assert chunk is not None and chunk.storage_key and chunk.data_key_id
        identity = recording_identity(chunk)
        old_key, old_data_key = chunk.storage_key, chunk.data_key_id
        wav = vault.get(session, identity, old_key, old_data_key, chunk.plaintext_sha256)
    original_pcm = pcm_sha256(wav)
    flac = wav_to_flac(wav)
    new_key = f"archive/calls/{chunk.call_id}/{chunk.id}.flac.enc"
    with transaction(runtime.sessions) as session:
        sealed = vault.seal_object(session, identity, new_key, flac)
    runtime.store.put(new_key, sealed.blob, tier="archive")
    with runtime.readers() as session:
        back = vault.get(session, identity, new_key, sealed.stored.data_key_id, sealed.stored.plaintext_sha256)
    if pcm_sha256(back) != original_pcm:
        runtime.store.delete(new_key)
        msg = f"The archived copy of chunk {chunk_id} does not decode to the original samples; kept the original."
        raise ArchiveVerificationError(msg)
    with transaction(runtime.sessions) as session:
        row = session.get(RecordingChunk, chunk_id)
        assert row is not None
        row.storage_key, row.data_key_id = new_key, sealed.stored.data_key_id
        row.plaintext_sha256, row.size_bytes = sealed.stored.plaintext_sha256, len(flac)
        row.pcm_sha256, row.codec, row.tier, row.archived_at = original_pcm, "flac", "archive", utcnow()
        row.superseded_key, row.lease_owner, row.lease_until = old_key, None, None
        vault.keys.destroy(session, old_data_key)
    runtime.store.delete(old_key)
    with transaction(runtime.sessions) as session:
        row = session.get(RecordingChunk, chunk_id)
        assert row is not None
        row.superseded_key = None
    return len(wav), len(flac)


def remove_superseded(ctx: JobContext) -> None:
    """Finish what a killed run left: remove blobs that rows no longer point at."""
    if ctx.dry_run:
        return
    with ctx.runtime.readers() as session:
        leftovers = session.execute(
            select(RecordingChunk.id, RecordingChunk.superseded_key).where(RecordingChunk.superseded_key.is_not(None))
        ).all()
    for chunk_id, key in leftovers:
        ctx.runtime.store.delete(key)
        with transaction(ctx.runtime.sessions) as session:
            row = session.get(RecordingChunk, chunk_id)
            if row is not None and row.superseded_key == key:
                row.superseded_key = None
