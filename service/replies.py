"""Unguessable, expiring URLs at which Twilio fetches the AI's reply audio."""

from __future__ import annotations

import hashlib
import hmac
import time

URL_KEY_PURPOSE = b"hotline-recorder reply url v1"


class ReplyUrls:
    """Signs and checks `/twilio/replies/<chunk_id>.wav?exp=...&sig=...`."""

    def __init__(self, key: bytes, public_url: str, ttl_s: int) -> None:
        self.key = key
        self.public_url = public_url
        self.ttl_s = ttl_s

    def _signature(self, chunk_id: str, expires: int) -> str:
        return hmac.new(self.key, f"{chunk_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def url(self, chunk_id: str, *, now: float | None = None) -> str:
        """A URL valid for `ttl_s` seconds."""
        expires = int((now or time.time()) + self.ttl_s)
        return f"{self.public_url}/twilio/replies/{chunk_id}.wav?exp={expires}&sig={self._signature(chunk_id, expires)}"

    def valid(self, chunk_id: str, expires: str, signature: str, *, now: float | None = None) -> bool:
        """Whether the signature matches and the URL has not expired."""
        try:
            exp = int(expires)
        except ValueError:
            return False
        if exp < (now or time.time()):
            return False
        return hmac.compare_digest(self._signature(chunk_id, exp), signature)
