"""Audited playback of a stored chunk or reply, shared by the management API and the console.

The access is recorded in the audit log in the same transaction that decrypts the audio, or, when decryption
fails, as a failed access: there is no playback without a trace.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from compliance import audit
from compliance.crypto import ObjectIdentity
from compliance.errors import ComplianceError
from service.audio import to_wav
from service.call_loop import recording_identity, reply_identity
from service.db import transaction
from service.errors import ServiceError
from service.models import RecordingChunk
from service.runtime import Runtime
from service.users import Principal
from service.vault import Vault

KINDS = ("recording", "reply")


class PlaybackRefusedError(ServiceError):
    """The request cannot be served as asked (no purpose, unknown kind); a 400."""


class NothingToPlayError(ServiceError):
    """No such chunk, or nothing stored for it; a 404."""


class PlaybackFailedError(ServiceError):
    """The stored audio could not be opened (tampered, shredded, store down); a 409, audited as a failure."""


def play(
    runtime: Runtime, vault: Vault, user: Principal, chunk_id: str, kind: str, purpose: str, client_addr: str | None
) -> bytes:
    """WAV audio of a chunk's recording or reply, after appending the audit event."""
    reason = purpose.strip()
    if not reason:
        msg = "Playback needs a purpose: say why you listen (?purpose=... or an X-Purpose header)."
        raise PlaybackRefusedError(msg)
    if kind not in KINDS:
        msg = "kind must be 'recording' or 'reply'."
        raise PlaybackRefusedError(msg)
    entry = audit.AuditEntry(
        actor=user.name, role=user.role, action=f"{kind}.playback", object_type="chunk", object_id=chunk_id,
        purpose=reason, client_addr=client_addr,
    )  # fmt: skip
    try:
        with transaction(runtime.sessions) as session:
            chunk, key, key_id, identity, sha = _locate(session, chunk_id, kind)
            audit.append(session, replace(entry, call_id=chunk.call_id))
            audio = vault.get(session, identity, key, key_id, sha)
            return to_wav(audio, chunk.codec) if kind == "recording" else audio
    except NothingToPlayError:
        raise
    except (ServiceError, ComplianceError) as exc:
        with transaction(runtime.sessions) as session:
            audit.append(session, replace(entry, outcome="failure", details={"error": type(exc).__name__}))
        raise PlaybackFailedError(str(exc)) from exc


def _locate(session: Session, chunk_id: str, kind: str) -> tuple[RecordingChunk, str, int, ObjectIdentity, str | None]:
    """The chunk and where its audio of `kind` is, or `NothingToPlayError`."""
    chunk = session.get(RecordingChunk, chunk_id)
    if chunk is None:
        msg = f"No chunk {chunk_id}."
        raise NothingToPlayError(msg)
    key, key_id, identity, sha = (
        (chunk.storage_key, chunk.data_key_id, recording_identity(chunk), chunk.plaintext_sha256)
        if kind == "recording"
        else (chunk.response_audio_key, chunk.response_data_key_id, reply_identity(chunk), None)
    )
    if key is None or key_id is None:
        msg = f"Chunk {chunk_id} has no stored {kind}."
        raise NothingToPlayError(msg)
    return chunk, key, key_id, identity, sha
