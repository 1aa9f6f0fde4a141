"""A local stand-in for Sarvam AI that implements its documented request and response shapes.

POST /speech-to-text (multipart: file, model, language_code) -> {"request_id", "transcript", "language_code"}
POST /v1/chat/completions (OpenAI-style JSON) -> {"choices": [{"message": {"role", "content"}}]}
POST /text-to-speech (JSON: text, target_language_code, speaker, model) -> {"request_id", "audios": [base64]}
Errors are {"error": {"message", "code", "request_id"}} with the documented status codes; a wrong
`api-subscription-key` gets 403. Faults can be queued per path.
"""

from __future__ import annotations

import base64
import io
import uuid
import wave
from dataclasses import dataclass, field
from typing import Annotated, Any

from litestar import Litestar, Request, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody
from litestar.response import Response

API_KEY = "synthetic-sarvam-key"


@dataclass
class SarvamState:
    """What the stub saw and what it will do next."""

    faults: dict[str, list[int]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    chat_messages: list[list[dict[str, str]]] = field(default_factory=list)
    stt_seconds: list[float] = field(default_factory=list)
    tts_requests: list[dict[str, Any]] = field(default_factory=list)
    transcript: str = "I have not been sleeping and I feel alone."
    language: str = "hi-IN"
    reply_audio: bytes = b""


def _error(status: int, code: str, message: str) -> Response[dict[str, Any]]:
    return Response({"error": {"message": message, "code": code, "request_id": uuid.uuid4().hex}}, status_code=status)


def _gate(state: SarvamState, request: Request[Any, Any, Any], path: str) -> Response[dict[str, Any]] | None:
    state.calls[path] = state.calls.get(path, 0) + 1
    if request.headers.get("api-subscription-key") != API_KEY:
        return _error(403, "invalid_api_key_error", "Invalid API key")
    queued = state.faults.get(path)
    if queued:
        status = queued.pop(0)
        codes = {400: "invalid_request_error", 429: "rate_limit_exceeded_error", 500: "internal_server_error",
                 503: "service_unavailable_error"}  # fmt: skip
        return _error(status, codes.get(status, "error"), "injected fault")
    return None


def make_stub(state: SarvamState) -> Litestar:
    """The stub app."""

    @post("/speech-to-text", status_code=200)
    async def speech_to_text(
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[dict[str, Any]]:
        refused = _gate(state, request, "stt")
        if refused:
            return refused
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            return _error(400, "invalid_request_error", "file is required")
        audio = await upload.read()
        with wave.open(io.BytesIO(audio)) as reader:
            seconds = reader.getnframes() / reader.getframerate()
        state.stt_seconds.append(seconds)
        if seconds > 30.0:
            return _error(400, "invalid_request_error", "Audio longer than 30 seconds; use the batch API")
        transcript = "" if seconds < 0.5 else state.transcript
        return Response({"request_id": uuid.uuid4().hex, "transcript": transcript, "language_code": state.language})

    @post("/v1/chat/completions", status_code=200)
    async def chat(request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]) -> Response[dict[str, Any]]:
        refused = _gate(state, request, "chat")
        if refused:
            return refused
        state.chat_messages.append(data["messages"])
        return Response({
            "id": uuid.uuid4().hex, "object": "chat.completion", "model": data.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "That sounds really hard. I'm here with you."}}],
        })  # fmt: skip

    @post("/text-to-speech", status_code=200)
    async def text_to_speech(
        request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
    ) -> Response[dict[str, Any]]:
        refused = _gate(state, request, "tts")
        if refused:
            return refused
        state.tts_requests.append(data)
        return Response({"request_id": uuid.uuid4().hex, "audios": [base64.b64encode(state.reply_audio).decode()]})

    return Litestar([speech_to_text, chat, text_to_speech], logging_config=None)
