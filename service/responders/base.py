"""The responder interface: a caller's audio chunk (and the call so far) in, a spoken reply out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from service.errors import ServiceError


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the call, as text."""

    transcript: str | None
    reply_text: str | None


@dataclass(frozen=True)
class CallContext:
    """What a responder may know of the call: ids and earlier turns, never the caller's number."""

    call_id: str
    chunk_number: int
    earlier_turns: tuple[Turn, ...] = field(default_factory=tuple)
    language: str | None = None


@dataclass(frozen=True)
class Reply:
    """The responder's answer; `audio` is None when there is nothing to say (e.g. no speech heard)."""

    audio: bytes | None
    transcript: str | None = None
    reply_text: str | None = None
    language: str | None = None


class ResponderError(ServiceError):
    """The responder failed; `error_class` is a short label for metrics and the chunk row."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class


class Responder(Protocol):
    """Turns a caller's chunk into a reply."""

    name: str

    async def respond(self, audio: bytes, context: CallContext) -> Reply:
        """The reply to one chunk, or `ResponderError`."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
