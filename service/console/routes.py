"""Console pages: thin handlers over the same services as the API; every page checks the signed-in role."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any
from urllib.parse import urlencode

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from compliance import audit
from compliance.models import AuditEvent
from service.call_loop import CallLoop
from service.models import Call, RecordingChunk
from service.playback import NothingToPlayError, PlaybackFailedError, PlaybackRefusedError, play
from service.runtime import Runtime
from service.users import Principal, authenticate

PAGE_SIZE = 25
STAFF = ("counselor", "compliance", "admin")
OVERSIGHT = ("compliance", "admin")


class SignInRequiredError(HTTPException):
    """No (or an expired) console session: the browser is sent to the sign-in page."""

    status_code = 303


def signed_in(request: Request[Any, Any, Any], *allowed: str) -> Principal:
    """The session's user, if the session is live and the role may see this page."""
    session = request.session or {}
    if not session.get("user") or session.get("expires", 0) < time.time():
        request.clear_session()
        raise SignInRequiredError
    user = Principal(**session["user"])
    if user.role not in allowed:
        raise HTTPException(status_code=403, detail=f"This page needs one of the roles: {', '.join(allowed)}.")
    return user


def sign_in_redirect(_request: Request[Any, Any, Any], _exc: Exception) -> Response[Any]:
    """Where an unauthenticated browser goes."""
    return Redirect("/console/login", status_code=303)


def _day(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    except ValueError:
        raise HTTPException(status_code=400, detail=f"{text!r} is not a date (YYYY-MM-DD).") from None


class ConsoleController(Controller):
    """/console"""

    path = "/console"
    include_in_schema = False
    exception_handlers = {SignInRequiredError: sign_in_redirect}  # noqa: RUF012 - Litestar's declaration style

    @get("/")
    async def home(self) -> Redirect:
        """The calls page."""
        return Redirect("/console/calls", status_code=303)

    @get("/login")
    async def login_page(self, request: Request[Any, Any, Any]) -> Template:
        """The sign-in form."""
        return Template("login.html", context={"user": None})

    @post("/login", status_code=303)
    async def login(
        self,
        request: Request[Any, Any, Any],
        state: State,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        """Turn a valid API token into a session cookie."""
        runtime: Runtime = state.runtime

        def lookup() -> Principal | None:
            with runtime.readers() as session:
                return authenticate(session, data.get("token", "").strip())

        user = await anyio.to_thread.run_sync(lookup)
        if user is None or user.role not in STAFF:
            message = "That token is unknown, revoked or expired." if user is None else "Your role has no console."
            return Template("login.html", context={"user": None, "message": message}, status_code=401)
        request.set_session({
            "user": {"user_id": user.user_id, "name": user.name, "role": user.role},
            "expires": time.time() + runtime.settings.console_session_s,
        })  # fmt: skip
        return Redirect("/console/calls", status_code=303)

    @post("/logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        """End the session."""
        request.clear_session()
        return Redirect("/console/login", status_code=303)

    @get("/calls", sync_to_thread=True)
    def calls(
        self,
        request: Request[Any, Any, Any],
        state: State,
        status: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        page: FromQuery[int] = 1,
    ) -> Template:
        """Calls with filters and paging."""
        user = signed_in(request, *STAFF)
        runtime: Runtime = state.runtime
        query = select(Call)
        if status:
            query = query.where(Call.status == status)
        if start := _day(since):
            query = query.where(Call.started_at >= start)
        if end := _day(until):
            query = query.where(Call.started_at < end + dt.timedelta(days=1))
        page = max(page, 1)
        with runtime.readers() as session:
            total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
            calls = session.scalars(
                query.options(selectinload(Call.chunks)).order_by(Call.started_at.desc())
                .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
            ).all()  # fmt: skip
        filters = {k: v for k, v in {"status": status, "since": since, "until": until}.items() if v}
        return Template("calls.html", context={
            "user": user, "calls": calls, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
            "status": status, "since": since, "until": until,
            "page_link": lambda n: "/console/calls?" + urlencode({**filters, "page": n}),
        })  # fmt: skip

    @get("/calls/{call_id:str}", sync_to_thread=True)
    def call(self, call_id: FromPath[str], request: Request[Any, Any, Any], state: State) -> Template:
        """One call with its chunks inline."""
        user = signed_in(request, *STAFF)
        runtime: Runtime = state.runtime
        with runtime.readers() as session:
            found = session.scalars(select(Call).options(selectinload(Call.chunks)).where(Call.id == call_id)).first()
            if found is None:
                raise HTTPException(status_code=404, detail=f"No call {call_id}.")
        return Template("call.html", context={"user": user, "call": found})

    @get("/chunks/{chunk_id:str}/play", sync_to_thread=True)
    def player(
        self, chunk_id: FromPath[str], request: Request[Any, Any, Any], state: State,
        purpose: FromQuery[str] = "", kind: FromQuery[str] = "recording",
    ) -> Template:  # fmt: skip
        """The player page; the audio itself is fetched (and audited) from `/audio`."""
        user = signed_in(request, *STAFF)
        if not purpose.strip():
            raise HTTPException(status_code=400, detail="Type a purpose before playing a recording.")
        runtime: Runtime = state.runtime
        with runtime.readers() as session:
            chunk = session.get(RecordingChunk, chunk_id)
            if chunk is None:
                raise HTTPException(status_code=404, detail=f"No chunk {chunk_id}.")
        audio_url = f"/console/chunks/{chunk_id}/audio?" + urlencode({"purpose": purpose, "kind": kind})
        return Template("play.html", context={"user": user, "chunk": chunk, "purpose": purpose, "kind": kind,
                                              "audio_url": audio_url})  # fmt: skip

    @get("/chunks/{chunk_id:str}/audio", sync_to_thread=True)
    def audio(
        self, chunk_id: FromPath[str], request: Request[Any, Any, Any], state: State,
        purpose: FromQuery[str] = "", kind: FromQuery[str] = "recording",
    ) -> Response[bytes]:  # fmt: skip
        """Decrypted audio for the signed-in user, audited with the purpose typed."""
        user = signed_in(request, *STAFF)
        loop: CallLoop = state.loop
        client = request.client.host if request.client else None
        try:
            audio = play(state.runtime, loop.vault, user, chunk_id, kind, purpose, client)
        except PlaybackRefusedError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        except NothingToPlayError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        except PlaybackFailedError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        return Response(audio, media_type="audio/wav", headers={"Cache-Control": "no-store"})

    @get("/audit", sync_to_thread=True)
    def audit_log(
        self, request: Request[Any, Any, Any], state: State,
        actor: FromQuery[str | None] = None, action: FromQuery[str | None] = None,
    ) -> Template:  # fmt: skip
        """The newest audit events and the chain's verification state (compliance and admin only)."""
        user = signed_in(request, *OVERSIGHT)
        runtime: Runtime = state.runtime
        query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(200)
        if actor:
            query = query.where(AuditEvent.actor == actor)
        if action:
            query = query.where(AuditEvent.action.startswith(action))
        with runtime.readers() as session:
            events = session.scalars(query).all()
            report = audit.verify(session, runtime.signer.verifier())
        text = (
            f"Audit chain intact: {report.events} events, {report.checkpoints} signed checkpoints."
            if report.ok
            else f"Audit chain FAILED verification at event {report.first_bad_seq}: {report.problem}"
        )
        return Template("audit.html", context={"user": user, "events": events, "actor": actor, "action": action,
                                               "verification": {"ok": report.ok, "text": text}})  # fmt: skip
