"""Tables of the compliance domain: data keys, the audit log and its checkpoints, legal holds, deletions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, BigId, UTCDateTime, utcnow


class DataKey(Base):
    """One object's data key, wrapped by a key-encryption key. Deleting `wrapped_key` shreds the object."""

    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(String(32))
    object_ref: Mapped[str] = mapped_column(String(160), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    kek_id: Mapped[str] = mapped_column(String(256))
    kek_version: Mapped[int | None] = mapped_column(Integer, index=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    rewrapped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    destroyed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """One access or admin action, hash-chained to the event before it."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    # Not a foreign key: the record of an access must outlive the call it concerns.
    call_id: Mapped[str | None] = mapped_column(String(36), index=True)
    purpose: Mapped[str | None] = mapped_column(Text)
    client_addr: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(Base):
    """A single row holding the chain's last sequence number and hash; appenders lock it to serialise."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed statement of the chain head at a moment, chained to the checkpoint before it."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    prev_signature: Mapped[str | None] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(Text)
    signing_key_id: Mapped[str] = mapped_column(String(128))


class LegalHold(Base):
    """A hold on everything of one call: retention deletes nothing of it while the hold is active."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(128))
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(128))
    release_reason: Mapped[str | None] = mapped_column(Text)


class DeletionRecord(Base):
    """Signed evidence that an object was deleted under a policy, kept without the data itself."""

    __tablename__ = "deletion_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str | None] = mapped_column(String(36), index=True)
    policy: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    plaintext_sha256: Mapped[str | None] = mapped_column(String(64))
    ciphertext_sha256: Mapped[str | None] = mapped_column(String(64))
    data_key_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[str] = mapped_column(Text, default="{}")
    signature: Mapped[str] = mapped_column(Text)
    signing_key_id: Mapped[str] = mapped_column(String(128))
