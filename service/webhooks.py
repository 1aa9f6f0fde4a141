"""Twilio's webhooks: thin handlers that check the signature and hand over to the call loop.

The signature covers the exact URL Twilio requested (trailing slash and query string included) and every
posted parameter, empty ones too. Litestar normalises `request.url.path` (it drops the trailing slash), so
the URL is rebuilt from `HOTLINE_PUBLIC_URL` and the raw request path. A bad or missing signature is refused
with 403 before anything is written.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

from litestar import Controller, Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Response
from twilio.request_validator import RequestValidator

from service.call_loop import BadWebhookError, CallLoop
from service.metrics import Metrics
from service.settings import Settings

log = logging.getLogger(__name__)
XML = "application/xml"


def requested_url(request: Request[Any, Any, Any], public_url: str) -> str:
    """The URL as Twilio requested it, behind any proxy: public base + raw path + query string."""
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    url = public_url + raw_path.decode("latin-1")
    query = request.scope.get("query_string", b"")
    return f"{url}?{query.decode('latin-1')}" if query else url


async def verified_form(request: Request[Any, Any, Any], settings: Settings) -> dict[str, str]:
    """The posted parameters, once the Twilio signature over them is checked; 403 otherwise."""
    if not settings.twilio_enabled or settings.twilio_auth_token is None:
        log.warning("Twilio webhook refused: HOTLINE_TWILIO_ACCOUNT_SID / HOTLINE_TWILIO_AUTH_TOKEN are not set")
        raise PermissionDeniedException(detail="Twilio credentials are not configured on this service.")
    signature = request.headers.get("x-twilio-signature")
    if not signature:
        raise PermissionDeniedException(detail="Missing X-Twilio-Signature.")
    body = await request.body()
    form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
    if not validator.validate(requested_url(request, settings.public_url), form, signature):
        log.warning("Twilio webhook refused: bad signature", extra={"outcome": "forbidden"})
        raise PermissionDeniedException(detail="Invalid X-Twilio-Signature.")
    if settings.twilio_account_sid and form.get("AccountSid") not in (None, "", settings.twilio_account_sid):
        raise PermissionDeniedException(detail="Webhook for another Twilio account.")
    return form


def twiml(document: str) -> Response[str]:
    """A TwiML response."""
    return Response(document, media_type=XML, status_code=200)


class TwilioController(Controller):
    """Routes Twilio calls (as the seed names them)."""

    path = "/twilio"
    include_in_schema = False

    @post("/voice/")
    async def voice(self, request: Request[Any, Any, Any], state: State) -> Response[str]:
        """A call arrives: record at once."""
        loop: CallLoop = state.loop
        metrics: Metrics = state.metrics
        form = await verified_form(request, state.settings)
        with metrics.webhook("voice"):
            return twiml(await loop.answer(form))

    @post("/listen/{call_id:str}/")
    async def listen(self, call_id: FromPath[str], request: Request[Any, Any, Any], state: State) -> Response[str]:
        """Back in the loop after a silent chunk (Twilio skipped `action`)."""
        await verified_form(request, state.settings)
        loop: CallLoop = state.loop
        return twiml(loop.twiml.listen(call_id))

    @post("/recording/{call_id:str}/")
    async def recording(self, call_id: FromPath[str], request: Request[Any, Any, Any], state: State) -> Response[str]:
        """A chunk was recorded."""
        loop: CallLoop = state.loop
        metrics: Metrics = state.metrics
        form = await verified_form(request, state.settings)
        with metrics.webhook("recording"):
            try:
                return twiml(await loop.recorded(call_id, form))
            except BadWebhookError as exc:
                log.warning("recording webhook without required parameters")
                return Response(str(exc), status_code=400, media_type="text/plain")
            except Exception:  # the caller hears no error: recording resumes
                log.exception("recording webhook failed; resuming recording")
                return twiml(loop.twiml.listen(call_id))

    @post("/wait/{call_id:str}/{chunk_id:str}/")
    async def wait(
        self, call_id: FromPath[str], chunk_id: FromPath[str], request: Request[Any, Any, Any], state: State
    ) -> Response[str]:
        """Long-poll for the reply to a chunk."""
        loop: CallLoop = state.loop
        metrics: Metrics = state.metrics
        await verified_form(request, state.settings)
        with metrics.webhook("wait"):
            try:
                return twiml(await loop.wait(call_id, chunk_id))
            except Exception:  # the caller hears no error: recording resumes
                log.exception("wait webhook failed; resuming recording")
                return twiml(loop.twiml.listen(call_id))

    @post("/recording-status/{call_id:str}/", status_code=204)
    async def recording_status(self, call_id: FromPath[str], request: Request[Any, Any, Any], state: State) -> None:
        """Twilio's recording status callback."""
        loop: CallLoop = state.loop
        form = await verified_form(request, state.settings)
        await loop.recording_status(call_id, form)

    @post("/status/", status_code=204)
    async def status(self, request: Request[Any, Any, Any], state: State) -> None:
        """Twilio's call status callback."""
        loop: CallLoop = state.loop
        form = await verified_form(request, state.settings)
        await loop.call_status(form)

    @get("/replies/{name:str}", sync_to_thread=True)
    def reply(self, name: FromPath[str], exp: FromQuery[str], sig: FromQuery[str], state: State) -> Response[bytes]:
        """The AI's reply audio, at a signed, expiring URL (what `<Play>` fetches)."""
        loop: CallLoop = state.loop
        chunk_id = name.removesuffix(".wav")
        if not loop.reply_urls.valid(chunk_id, exp, sig):
            raise PermissionDeniedException(detail="This reply URL is invalid or has expired.")
        audio = loop.read_reply(chunk_id)
        if audio is None:
            raise NotFoundException(detail="No reply for this chunk.")
        # Marked as played after the audio is on its way, off the turn's critical path.
        return Response(
            audio,
            media_type="audio/wav",
            headers={"Cache-Control": "private, max-age=60"},
            background=BackgroundTask(loop.mark_played, chunk_id),
        )
