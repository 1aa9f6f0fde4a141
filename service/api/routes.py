"""Management API routes: thin translations of HTTP into calls of the loop and of plain queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.response import Response
from sqlalchemy import func, select

from compliance import audit
from service.api.auth import roles
from service.call_loop import CallLoop
from service.db import transaction
from service.models import Call, RecordingChunk
from service.playback import NothingToPlayError, PlaybackFailedError, PlaybackRefusedError, play
from service.runtime import Runtime
from service.users import Principal

STAFF = ("counselor", "compliance", "admin")


@dataclass
class ChunkOut:
    """A chunk as the API shows it (the seed's fields)."""

    id: str
    chunk_number: int
    recording_url: str
    storage_key: str | None
    duration: int | None
    processed: bool
    response_audio: str | None
    response_played: bool
    recorded_at: dt.datetime
    processed_at: dt.datetime | None
    storage_state: str
    codec: str
    tier: str
    processing_error: str | None
    error_class: str | None


@dataclass
class CallOut:
    """A call as the API lists it: no caller number, no geo fields below country."""

    id: str
    call_sid: str
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    duration: int | None
    caller_country: str | None
    escalated_at: dt.datetime | None


@dataclass
class CallDetail(CallOut):
    """A call with its chunks."""

    chunks: list[ChunkOut]


@dataclass
class CallPage:
    """One page of calls."""

    items: list[CallOut]
    total: int


@dataclass
class ProcessRequest:
    """Which chunk to process again."""

    chunk_id: str


def _call_out(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "call_sid": call.call_sid,
        "status": call.status,
        "started_at": call.started_at,
        "ended_at": call.ended_at,
        "duration": call.duration_s,
        "caller_country": call.caller_country,
        "escalated_at": call.escalated_at,
    }


def _chunk_out(chunk: RecordingChunk) -> ChunkOut:
    return ChunkOut(
        id=chunk.id,
        chunk_number=chunk.chunk_number,
        recording_url=chunk.recording_url,
        storage_key=chunk.storage_key,
        duration=chunk.duration_s,
        processed=chunk.processed,
        response_audio=chunk.response_audio_key,
        response_played=chunk.response_played,
        recorded_at=chunk.recorded_at,
        processed_at=chunk.processed_at,
        storage_state=chunk.storage_state,
        codec=chunk.codec,
        tier=chunk.tier,
        processing_error=chunk.processing_error,
        error_class=chunk.error_class,
    )


def _client_addr(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


class ApiController(Controller):
    """/api: calls, chunks, playback."""

    path = "/api"

    @get("/calls/", guards=[roles(*STAFF)], sync_to_thread=True)
    def list_calls(
        self,
        state: State,
        status: FromQuery[str | None] = None,
        since: FromQuery[dt.datetime | None] = None,
        until: FromQuery[dt.datetime | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> CallPage:
        """Calls, newest first, filtered by status and start time."""
        runtime: Runtime = state.runtime
        query = select(Call)
        if status:
            query = query.where(Call.status == status)
        if since:
            query = query.where(Call.started_at >= _aware(since))
        if until:
            query = query.where(Call.started_at < _aware(until))
        with runtime.readers() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            calls = session.scalars(query.order_by(Call.started_at.desc()).limit(limit).offset(offset)).all()
            return CallPage(items=[CallOut(**_call_out(c)) for c in calls], total=int(total))

    @get("/calls/{call_id:str}/", guards=[roles(*STAFF)], sync_to_thread=True)
    def get_call(self, call_id: FromPath[str], state: State) -> CallDetail:
        """One call with its chunks."""
        runtime: Runtime = state.runtime
        with runtime.readers() as session:
            call = session.get(Call, call_id)
            if call is None:
                raise NotFoundException(detail=f"No call {call_id}.")
            return CallDetail(**_call_out(call), chunks=[_chunk_out(c) for c in call.chunks])

    @post("/process-audio/", guards=[roles("counselor", "admin")], status_code=202)
    async def process_audio(
        self, data: JSONBody[ProcessRequest], request: Request[Any, Any, Any], state: State
    ) -> dict[str, str]:
        """Run AI processing for a chunk again (e.g. after a responder outage)."""
        runtime: Runtime = state.runtime
        loop: CallLoop = state.loop
        user: Principal = request.user

        def reset() -> bool:
            with transaction(runtime.sessions) as session:
                chunk = session.get(RecordingChunk, data.chunk_id)
                if chunk is None:
                    return False
                if chunk.storage_state not in ("stored", "spooled"):
                    raise ClientException(detail="This chunk's audio is not stored yet; it cannot be processed.")
                chunk.error_class = chunk.processing_error = None
                chunk.processed = False
                audit.append(
                    session,
                    audit.AuditEntry(
                        actor=user.name,
                        role=user.role,
                        action="chunk.reprocess",
                        object_type="chunk",
                        object_id=chunk.id,
                        call_id=chunk.call_id,
                        client_addr=_client_addr(request),
                    ),
                )
                return True

        if not await anyio.to_thread.run_sync(reset):
            raise NotFoundException(detail=f"No chunk {data.chunk_id}.")
        loop.reprocess(data.chunk_id)
        return {"chunk_id": data.chunk_id, "status": "queued"}

    @get("/chunks/{chunk_id:str}/audio", guards=[roles(*STAFF)], sync_to_thread=True)
    def chunk_audio(
        self,
        chunk_id: FromPath[str],
        request: Request[Any, Any, Any],
        state: State,
        purpose: FromQuery[str | None] = None,
        kind: FromQuery[str] = "recording",
        x_purpose: Annotated[str | None, HeaderParameter(name="X-Purpose")] = None,
    ) -> Response[bytes]:
        """Decrypted playback of a caller's chunk (or the AI's reply); audited with the required purpose."""
        runtime: Runtime = state.runtime
        loop: CallLoop = state.loop
        try:
            audio = play(runtime, loop.vault, request.user, chunk_id, kind, purpose or x_purpose or "",
                         _client_addr(request))  # fmt: skip
        except PlaybackRefusedError as exc:
            raise ClientException(detail=str(exc)) from exc
        except NothingToPlayError as exc:
            raise NotFoundException(detail=str(exc)) from exc
        except PlaybackFailedError as exc:
            raise ClientException(status_code=409, detail=str(exc)) from exc
        return Response(audio, media_type="audio/wav")


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
