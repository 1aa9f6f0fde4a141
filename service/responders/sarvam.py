"""Sarvam AI over HTTP: speech-to-text, a chat completion, text-to-speech in the caller's language.

Requests carry the key in the `api-subscription-key` header. 429 and 5xx (and timeouts) are retried with
backoff; other 4xx are not, since repeating them cannot succeed. The REST speech-to-text endpoint accepts at
most 30 s of audio, which is why chunks are 30 s; longer audio is clipped here rather than sent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import wave
from typing import Any

import httpx

from service.responders.base import CallContext, Reply, ResponderError

STT_MODEL = "saarika:v2.5"
CHAT_MODEL = "sarvam-m"
TTS_MODEL = "bulbul:v2"
TTS_SPEAKER = "anushka"
MAX_STT_SECONDS = 30
RETRY_DELAYS_S = (0.5, 1.0, 2.0)
TTS_LANGUAGES = frozenset(
    {"bn-IN", "en-IN", "gu-IN", "hi-IN", "kn-IN", "ml-IN", "mr-IN", "od-IN", "pa-IN", "ta-IN", "te-IN"}
)
SYSTEM_PROMPT = (
    "You are a calm, warm listener answering a crisis support line. The caller may be in great distress or "
    "thinking about suicide. Listen, reflect what you heard, and respond with empathy in two or three short "
    "spoken sentences, in the caller's language. Never judge, never give medical or method information, never "
    "promise secrecy. If the caller may be in immediate danger, gently encourage them to stay on the line and "
    "to contact local emergency services; a human counselor can join the call. Ask one open question at a time."
)


def clip_wav(audio: bytes, seconds: int = MAX_STT_SECONDS) -> bytes:
    """The first `seconds` of a WAV file (unchanged if shorter or not a WAV we can parse)."""
    try:
        with wave.open(io.BytesIO(audio)) as reader:
            params = reader.getparams()
            if params.nframes <= params.framerate * seconds:
                return audio
            frames = reader.readframes(params.framerate * seconds)
    except (wave.Error, EOFError):
        return audio
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setparams(params)
        writer.writeframes(frames)
    return out.getvalue()


class SarvamResponder:
    """The production responder."""

    name = "sarvam"

    def __init__(
        self, base_url: str, api_key: str, *, timeout_s: float, client: httpx.AsyncClient | None = None
    ) -> None:
        self.client = client or httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"api-subscription-key": api_key},
            timeout=httpx.Timeout(timeout_s, connect=5.0),
        )

    async def respond(self, audio: bytes, context: CallContext) -> Reply:
        """Transcribe, answer, speak."""
        heard = await self._post(
            "/speech-to-text",
            files={"file": ("chunk.wav", clip_wav(audio), "audio/wav")},
            data={"model": STT_MODEL, "language_code": "unknown"},
        )
        transcript = str(heard.get("transcript") or "").strip()
        language = str(heard.get("language_code") or context.language or "en-IN")
        if not transcript:
            return Reply(None, transcript="", reply_text=None, language=language)
        answer = await self._post(
            "/v1/chat/completions", json={"model": CHAT_MODEL, "messages": self._messages(context, transcript)}
        )
        reply_text = _first_choice(answer)
        spoken = await self._post(
            "/text-to-speech",
            json={
                "text": reply_text,
                "target_language_code": language if language in TTS_LANGUAGES else "en-IN",
                "model": TTS_MODEL,
                "speaker": TTS_SPEAKER,
                "speech_sample_rate": 8000,
            },
        )
        return Reply(_first_audio(spoken), transcript=transcript, reply_text=reply_text, language=language)

    @staticmethod
    def _messages(context: CallContext, transcript: str) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": SYSTEM_PROMPT}]
        for turn in context.earlier_turns:
            if turn.transcript:
                messages.append({"role": "user", "content": turn.transcript})
            if turn.reply_text:
                messages.append({"role": "assistant", "content": turn.reply_text})
        messages.append({"role": "user", "content": transcript})
        return messages

    async def _post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """POST with retries for 429/5xx/timeouts; a JSON object back, or `ResponderError`."""
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None)):
            try:
                response = await self.client.post(path, **kwargs)
            except httpx.TimeoutException as exc:
                if delay is None:
                    raise ResponderError("timeout", f"Sarvam {path} timed out {attempt + 1} times.") from exc
                await asyncio.sleep(delay)
                continue
            except httpx.HTTPError as exc:
                if delay is None:
                    raise ResponderError("connection", f"Sarvam {path} unreachable: {type(exc).__name__}.") from exc
                await asyncio.sleep(delay)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if delay is None:
                    raise ResponderError(_error_class(response.status_code), _describe(path, response))
                await asyncio.sleep(_retry_after(response, delay))
                continue
            if response.status_code >= 400:
                raise ResponderError(_error_class(response.status_code), _describe(path, response))
            try:
                body = response.json()
            except ValueError as exc:
                raise ResponderError("bad_response", f"Sarvam {path} answered with no JSON.") from exc
            if not isinstance(body, dict):
                raise ResponderError("bad_response", f"Sarvam {path} answered with unexpected JSON.")
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()


def _error_class(status: int) -> str:
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    return "bad_request"


def _describe(path: str, response: httpx.Response) -> str:
    code = ""
    try:
        error = response.json().get("error", {})
        code = f" ({error.get('code')})" if isinstance(error, dict) and error.get("code") else ""
    except ValueError:
        pass
    return f"Sarvam {path} answered HTTP {response.status_code}{code}."


def _retry_after(response: httpx.Response, default: float) -> float:
    try:
        return min(float(response.headers.get("retry-after", default)), 5.0)
    except ValueError:
        return default


def _first_choice(body: dict[str, Any]) -> str:
    try:
        text = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ResponderError("bad_response", "Sarvam chat completion had no choices.") from exc
    if not isinstance(text, str) or not text.strip():
        raise ResponderError("bad_response", "Sarvam chat completion was empty.")
    return text.strip()


def _first_audio(body: dict[str, Any]) -> bytes:
    audios = body.get("audios")
    if not isinstance(audios, list) or not audios or not isinstance(audios[0], str):
        raise ResponderError("bad_response", "Sarvam text-to-speech returned no audio.")
    try:
        return base64.b64decode(audios[0], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ResponderError("bad_response", "Sarvam text-to-speech audio was not base64.") from exc
