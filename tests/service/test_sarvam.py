"""The Sarvam responder against a local server with Sarvam's documented shapes, and in a whole call."""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import Iterator

import pytest
from sqlalchemy import select

import service.responders.sarvam as sarvam
from service.models import RecordingChunk
from service.responders import CallContext, Reply, ResponderError, Turn
from service.responders.sarvam import SarvamResponder
from tests.conftest import DATA
from tests.service.conftest import CALLER_AUDIO, Harness, RunningService, free_port
from tests.service.sarvam_stub import API_KEY, SarvamState, make_stub

REPLY = (DATA / "sample_response.wav").read_bytes()


@pytest.fixture
def stub() -> Iterator[tuple[str, SarvamState]]:
    state = SarvamState(reply_audio=REPLY)
    running = RunningService(make_stub(state), free_port())
    try:
        yield running.url, state
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarvam, "RETRY_DELAYS_S", (0.01, 0.01, 0.01))


def respond(url: str, audio: bytes, context: CallContext | None = None, key: str = API_KEY) -> Reply:
    async def go() -> Reply:
        responder = SarvamResponder(url, key, timeout_s=5)
        try:
            return await responder.respond(audio, context or CallContext("call-1", 1))
        finally:
            await responder.aclose()

    return asyncio.run(go())


def long_wav(seconds: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x01\x00" * 8000 * seconds)
    return out.getvalue()


def test_transcribe_answer_speak(stub: tuple[str, SarvamState]) -> None:
    url, state = stub
    context = CallContext("call-1", 3, (Turn("first words", "first reply"),), "hi-IN")
    reply = respond(url, CALLER_AUDIO[0], context)
    assert reply.audio == REPLY
    assert reply.transcript == state.transcript
    assert reply.language == "hi-IN"
    assert state.tts_requests[0]["target_language_code"] == "hi-IN"
    messages = state.chat_messages[0]
    assert messages[0]["role"] == "system"
    assert "crisis" in messages[0]["content"]
    assert messages[1:] == [
        {"role": "user", "content": "first words"},
        {"role": "assistant", "content": "first reply"},
        {"role": "user", "content": state.transcript},
    ]


def test_never_sends_more_than_30_seconds(stub: tuple[str, SarvamState]) -> None:
    url, state = stub
    assert respond(url, long_wav(42)).audio == REPLY
    assert state.stt_seconds == [30.0]


def test_no_speech_means_no_reply_and_no_chat(stub: tuple[str, SarvamState]) -> None:
    url, state = stub
    reply = respond(url, long_wav(0))
    assert reply.audio is None
    assert "chat" not in state.calls


def test_rate_limit_and_server_errors_are_retried(stub: tuple[str, SarvamState]) -> None:
    url, state = stub
    state.faults = {"stt": [429], "chat": [503, 500]}
    assert respond(url, CALLER_AUDIO[0]).audio == REPLY
    assert (state.calls["stt"], state.calls["chat"]) == (2, 3)


def test_persistent_server_errors_give_up(stub: tuple[str, SarvamState]) -> None:
    url, state = stub
    state.faults = {"tts": [503] * 10}
    with pytest.raises(ResponderError) as failure:
        respond(url, CALLER_AUDIO[0])
    assert failure.value.error_class == "server_error"
    assert state.calls["tts"] == 4


@pytest.mark.parametrize(("status", "error_class"), [(400, "bad_request")])
def test_other_client_errors_are_not_retried(stub: tuple[str, SarvamState], status: int, error_class: str) -> None:
    url, state = stub
    state.faults = {"stt": [status, status]}
    with pytest.raises(ResponderError) as failure:
        respond(url, CALLER_AUDIO[0])
    assert failure.value.error_class == error_class
    assert "invalid_request_error" in str(failure.value)
    assert state.calls["stt"] == 1


def test_wrong_key_is_an_auth_failure(stub: tuple[str, SarvamState]) -> None:
    url, state = stub
    with pytest.raises(ResponderError) as failure:
        respond(url, CALLER_AUDIO[0], key="wrong")
    assert failure.value.error_class == "auth"
    assert state.calls["stt"] == 1


def test_unreachable_sarvam_is_a_connection_failure() -> None:
    with pytest.raises(ResponderError) as failure:
        respond(f"http://127.0.0.1:{free_port()}", CALLER_AUDIO[0])
    assert failure.value.error_class == "connection"


def test_whole_call_with_sarvam(harness: Harness, stub: tuple[str, SarvamState]) -> None:
    url, state = stub
    service = harness.start(responder="sarvam", sarvam_base_url=url, sarvam_api_key=API_KEY)
    report = harness.call(service, chunks=2)
    assert report.ok
    assert report.replies_played == 2
    # The second turn's chat saw the first turn, decrypted from its sealed row.
    assert state.chat_messages[1][1] == {"role": "user", "content": state.transcript}
    with service.runtime.sessions() as session:
        chunks = session.scalars(select(RecordingChunk).order_by(RecordingChunk.chunk_number)).all()
        assert all(c.responder == "sarvam" and c.detected_language == "hi-IN" for c in chunks)
        assert all(c.turn_text_sealed and state.transcript.encode() not in c.turn_text_sealed for c in chunks)


def test_sarvam_outage_during_a_call_is_silent(harness: Harness, stub: tuple[str, SarvamState]) -> None:
    url, state = stub
    state.faults = {"stt": [500] * 100}
    service = harness.start(responder="sarvam", sarvam_base_url=url, sarvam_api_key=API_KEY)
    report = harness.call(service, chunks=2)
    assert report.ok and not report.dropped
    assert report.replies_played == 0
    with service.runtime.sessions() as session:
        chunks = session.scalars(select(RecordingChunk)).all()
        assert {(c.storage_state, c.error_class) for c in chunks} == {("stored", "server_error")}
