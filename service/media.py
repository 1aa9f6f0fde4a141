"""Fetching recording media from Twilio (and deleting it there), only from the configured hosts.

Twilio may answer 404 for a moment after `action` fires, until the recording is ready: retry with backoff
within a bound, then leave the chunk pending; the recording status callback or the sweeper fetches it later.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx

from service.errors import ServiceError

BACKOFF_S = (0.1, 0.2, 0.4, 0.8, 1.2, 1.6, 2.0)


class MediaRefusedError(ServiceError):
    """The recording URL points at a host that is not allowed; it was not fetched."""


class MediaNotReadyError(ServiceError):
    """The recording was not available within the fetch budget; try again later."""


def host_allowed(url: str, allowed: frozenset[str]) -> bool:
    """Whether `url`'s host (or host:port) is one of the allowed entries."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return False
    host = parts.hostname.lower()
    default_port = 443 if parts.scheme == "https" else 80
    port = parts.port or default_port
    return f"{host}:{port}" in allowed or (host in allowed and port == default_port)


class TwilioMedia:
    """Recording media behind HTTP basic auth (account SID, auth token)."""

    def __init__(self, client: httpx.AsyncClient, account_sid: str, auth_token: str, allowed: frozenset[str]) -> None:
        self.client = client
        self.auth = httpx.BasicAuth(account_sid, auth_token)
        self.allowed = allowed

    def check(self, url: str) -> None:
        """Refuse a URL outside the allowed hosts."""
        if not host_allowed(url, self.allowed):
            host = urlsplit(url).netloc or "?"
            msg = f"Recording URL host {host!r} is not in HOTLINE_TWILIO_MEDIA_HOSTS; it was not fetched."
            raise MediaRefusedError(msg)

    async def fetch(self, url: str, budget_s: float) -> bytes:
        """The recording's bytes, retrying 404/5xx/transport errors with backoff until `budget_s` runs out."""
        self.check(url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        last = "no attempt"
        for attempt in range(1000):
            try:
                response = await self.client.get(url, auth=self.auth, timeout=max(1.0, deadline - loop.time()))
                if response.status_code == 200 and response.content:
                    return response.content
                last = f"HTTP {response.status_code}"
                if response.status_code in (401, 403):
                    msg = f"Twilio refused the recording media ({last}); check the Twilio credentials."
                    raise MediaNotReadyError(msg)
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            pause = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            if loop.time() + pause >= deadline:
                break
            await asyncio.sleep(pause)
        msg = f"Recording media not available within {budget_s:.0f} s (last: {last})."
        raise MediaNotReadyError(msg)

    async def delete(self, url: str) -> bool:
        """Delete the recording at Twilio (REST API: DELETE on the recording resource)."""
        self.check(url)
        response = await self.client.delete(recording_resource(url), auth=self.auth, timeout=10.0)
        return response.status_code in (204, 404)


def recording_resource(url: str) -> str:
    """The REST resource of a recording, from its media URL."""
    resource = url.removesuffix(".wav").removesuffix(".mp3")
    return resource if resource.endswith(".json") else resource + ".json"


def delete_at_twilio(url: str, account_sid: str, auth_token: str, allowed: frozenset[str]) -> bool:
    """Delete a recording at Twilio from a batch job (no event loop there); True when it is gone."""
    if not host_allowed(url, allowed):
        msg = f"Recording URL host {urlsplit(url).netloc!r} is not in HOTLINE_TWILIO_MEDIA_HOSTS."
        raise MediaRefusedError(msg)
    try:
        response = httpx.delete(recording_resource(url), auth=(account_sid, auth_token), timeout=10.0)
    except httpx.HTTPError as exc:
        msg = f"Twilio unreachable: {type(exc).__name__}."
        raise MediaNotReadyError(msg) from exc
    return response.status_code in (204, 404)
