"""Audio formats of stored chunks: Twilio's WAV on the hot tier, lossless FLAC on the archive tier."""

from __future__ import annotations

import hashlib
import io

import soundfile

from service.errors import ServiceError


class AudioFormatError(ServiceError):
    """Stored audio cannot be decoded."""


def _decode(audio: bytes) -> tuple[bytes, int, int]:
    try:
        data, rate = soundfile.read(io.BytesIO(audio), dtype="int16", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        msg = f"Stored audio cannot be decoded: {exc}."
        raise AudioFormatError(msg) from exc
    return data.tobytes(), int(rate), int(data.shape[1])


def pcm_sha256(audio: bytes) -> str:
    """SHA-256 of the 16-bit PCM samples of a WAV or FLAC file (the same for both when lossless)."""
    return hashlib.sha256(_decode(audio)[0]).hexdigest()


def wav_to_flac(wav: bytes) -> bytes:
    """Lossless FLAC of a 16-bit WAV."""
    data, rate = soundfile.read(io.BytesIO(wav), dtype="int16", always_2d=True)
    out = io.BytesIO()
    soundfile.write(out, data, rate, format="FLAC", subtype="PCM_16")
    return out.getvalue()


def to_wav(audio: bytes, codec: str) -> bytes:
    """WAV for playback, decoding FLAC on the fly."""
    if codec == "wav":
        return audio
    data, rate = soundfile.read(io.BytesIO(audio), dtype="int16", always_2d=True)
    out = io.BytesIO()
    soundfile.write(out, data, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()
