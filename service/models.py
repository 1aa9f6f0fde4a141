"""Tables of the call domain: calls, their recording chunks, and API users with their tokens."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, BigId, UTCDateTime, utcnow


def new_id() -> str:
    """A random UUID: unguessable ids for calls and chunks, safe across several instances."""
    return str(uuid.uuid4())


class Call(Base):
    """One phone call. The caller's number exists only as a keyed pseudonym and an encrypted copy."""

    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    # HMAC-SHA256 pseudonym of the E.164 number: finds a caller's calls without storing the number.
    caller_lookup: Mapped[str | None] = mapped_column(String(64), index=True)
    caller_number_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    caller_number_key_id: Mapped[int | None] = mapped_column(ForeignKey("data_keys.id"))
    # The hotline's own number that was dialled; not caller data.
    called_number: Mapped[str | None] = mapped_column(String(32))
    caller_city: Mapped[str | None] = mapped_column(String(128))
    caller_state: Mapped[str | None] = mapped_column(String(64))
    caller_zip: Mapped[str | None] = mapped_column(String(16))
    caller_country: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), default="in-progress", index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    anonymized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    chunks: Mapped[list[RecordingChunk]] = relationship(back_populates="call", order_by="RecordingChunk.chunk_number")


class RecordingChunk(Base):
    """One recorded chunk of at most 30 s, and the AI's reply to it."""

    __tablename__ = "recording_chunks"
    __table_args__ = (UniqueConstraint("call_id", "chunk_number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    chunk_number: Mapped[int] = mapped_column(Integer)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    recording_url: Mapped[str] = mapped_column(String(512))
    storage_key: Mapped[str | None] = mapped_column(String(512))
    data_key_id: Mapped[int | None] = mapped_column(ForeignKey("data_keys.id"))
    duration_s: Mapped[int | None] = mapped_column(Integer)
    processed: Mapped[bool] = mapped_column(Boolean, default=False)
    response_audio_key: Mapped[str | None] = mapped_column(String(512))
    response_data_key_id: Mapped[int | None] = mapped_column(ForeignKey("data_keys.id"))
    response_played: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    plaintext_sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    codec: Mapped[str] = mapped_column(String(16), default="wav")
    tier: Mapped[str] = mapped_column(String(16), default="hot")
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    processing_error: Mapped[str | None] = mapped_column(Text)
    # pending (media not yet stored) -> stored, or spooled (sealed on local disk until the store is back).
    storage_state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending", index=True)
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    responder: Mapped[str | None] = mapped_column(String(32))
    error_class: Mapped[str | None] = mapped_column(String(32))
    detected_language: Mapped[str | None] = mapped_column(String(16))
    # Transcript and reply text: caller data, sealed together under their own data key.
    turn_text_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    turn_text_key_id: Mapped[int | None] = mapped_column(ForeignKey("data_keys.id"))
    processing_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    response_ready_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Which instance is working on the chunk, and until when its claim holds (several instances share a DB).
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    twilio_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 of the decoded PCM: proves the archive's FLAC is the recording, sample for sample.
    pcm_sha256: Mapped[str | None] = mapped_column(String(64))
    # A blob this row no longer points at (replaced by the archive), until it is removed from the store.
    superseded_key: Mapped[str | None] = mapped_column(String(512))
    reply_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    turn_text_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship(back_populates="chunks")


class ApiUser(Base):
    """A person or system that calls the management API, with one role."""

    __tablename__ = "api_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("api_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[ApiUser] = relationship(back_populates="tokens")
