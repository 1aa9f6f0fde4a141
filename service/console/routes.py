"""Console pages: thin handlers over the same services as the API; every page checks the signed-in role."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from typing import Annotated, Any
from urllib.parse import urlencode

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import selectinload

from compliance import audit
from compliance.holds import HoldError, place_hold, release_holds
from compliance.models import AuditEvent, LegalHold
from service.call_loop import CallLoop
from service.db import transaction
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


def error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Template:
    """Errors in the console are pages, with the reason, not JSON."""
    session = request.session or {}
    user = Principal(**session["user"]) if session.get("user") else None
    heading = {400: "That request cannot be served", 403: "Not for your role", 404: "Not found"}.get(
        exc.status_code, "Something went wrong"
    )
    context = {"user": user, "status": exc.status_code, "heading": heading, "detail": exc.detail}
    return Template("error.html", status_code=exc.status_code, context=context)


def _day(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    except ValueError:
        raise HTTPException(status_code=400, detail=f"{text!r} is not a date (YYYY-MM-DD).") from None


CSV_FIELDS = ["id", "call_sid", "status", "started_at", "ended_at", "duration_s", "caller_country"]
CHUNK_FILTERS: dict[str, tuple[str, ColumnElement[bool] | None]] = {
    "all": ("all", None),
    "processed": ("processed", RecordingChunk.processed.is_(True)),
    "failed": ("AI failed", RecordingChunk.error_class.is_not(None)),
    "pending": ("not stored yet", RecordingChunk.storage_state.in_(("pending", "spooled"))),
    "unplayed": (
        "reply not played",
        RecordingChunk.response_audio_key.is_not(None) & RecordingChunk.response_played.is_(False),
    ),
}  # fmt: skip


def _calls_query(status: str | None, since: str | None, until: str | None) -> Select[tuple[Call]]:
    query = select(Call)
    if status:
        query = query.where(Call.status == status)
    if start := _day(since):
        query = query.where(Call.started_at >= start)
    if end := _day(until):
        query = query.where(Call.started_at < end + dt.timedelta(days=1))
    return query


def _active_rows(runtime: Runtime) -> list[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC)
    with runtime.readers() as session:
        calls = session.scalars(
            select(Call).options(selectinload(Call.chunks)).where(Call.ended_at.is_(None)).order_by(Call.started_at)
        ).all()
        rows = []
        for call in calls:
            ready = [c for c in call.chunks if c.response_ready_at]
            last = ready[-1] if ready else None
            latency = (
                (last.response_ready_at - last.recorded_at).total_seconds() if last and last.response_ready_at else None
            )
            rows.append({
                "id": call.id, "age": f"{int((now - call.started_at).total_seconds())} s", "chunks": len(call.chunks),
                "last_turn": f"{latency:.1f} s" if latency is not None else "",
                "failures": sum(1 for c in call.chunks if c.error_class),
            })  # fmt: skip
    return rows


class ConsoleController(Controller):
    """/console"""

    path = "/console"
    include_in_schema = False
    exception_handlers = {SignInRequiredError: sign_in_redirect, HTTPException: error_page}  # noqa: RUF012

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
        query = _calls_query(status, since, until)
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
            "csv_link": "/console/calls.csv?" + urlencode(filters),
        })  # fmt: skip

    @get("/calls.csv", sync_to_thread=True)
    def calls_csv(
        self, request: Request[Any, Any, Any], state: State, status: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None, until: FromQuery[str | None] = None,
    ) -> Response[str]:  # fmt: skip
        """The filtered calls as CSV, without caller numbers; the export is audited."""
        user = signed_in(request, *STAFF)
        runtime: Runtime = state.runtime
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_FIELDS)
        with transaction(runtime.sessions) as session:
            calls = session.scalars(_calls_query(status, since, until).order_by(Call.started_at.desc())).all()
            for c in calls:
                ended = c.ended_at.isoformat() if c.ended_at else ""
                writer.writerow(
                    [
                        c.id,
                        c.call_sid,
                        c.status,
                        c.started_at.isoformat(),
                        ended,
                        c.duration_s or "",
                        c.caller_country or "",
                    ]
                )
            audit.append(session, audit.AuditEntry(
                actor=user.name, role=user.role, action="calls.export", object_type="calls",
                client_addr=request.client.host if request.client else None,
                details={"rows": len(calls), "status": status, "since": since, "until": until},
            ))  # fmt: skip
        headers = {"Content-Disposition": 'attachment; filename="calls.csv"', "Cache-Control": "no-store"}
        return Response(out.getvalue(), media_type="text/csv", headers=headers)

    @get("/active", sync_to_thread=True)
    def active(self, request: Request[Any, Any, Any], state: State) -> Template:
        """Calls in progress; the rows refresh themselves."""
        user = signed_in(request, *STAFF)
        return Template("active.html", context={"user": user, "rows": _active_rows(state.runtime)})

    @get("/active/rows", sync_to_thread=True)
    def active_rows(self, request: Request[Any, Any, Any], state: State) -> Template:
        """The rows of the active-calls table (polled by the page)."""
        signed_in(request, *STAFF)
        return Template("active_rows.html", context={"rows": _active_rows(state.runtime)})

    @get("/chunks", sync_to_thread=True)
    def chunks(
        self,
        request: Request[Any, Any, Any],
        state: State,
        state_filter: Annotated[str, QueryParameter(name="state")] = "all",
    ) -> Template:
        """Chunks filtered by processing status."""
        user = signed_in(request, *STAFF)
        if state_filter not in CHUNK_FILTERS:
            raise HTTPException(status_code=400, detail=f"Unknown filter {state_filter!r}.")
        runtime: Runtime = state.runtime
        query = select(RecordingChunk).order_by(RecordingChunk.recorded_at.desc()).limit(200)
        condition = CHUNK_FILTERS[state_filter][1]
        if condition is not None:
            query = query.where(condition)
        with runtime.readers() as session:
            rows = session.scalars(query).all()
        return Template("chunks.html", context={
            "user": user, "chunks": rows, "state": state_filter,
            "states": [(key, label) for key, (label, _) in CHUNK_FILTERS.items()],
        })  # fmt: skip

    @get("/holds", sync_to_thread=True)
    def holds(self, request: Request[Any, Any, Any], state: State, done: FromQuery[str | None] = None) -> Template:
        """Legal holds, with forms to place and release them (compliance and admin)."""
        user = signed_in(request, *OVERSIGHT)
        with state.runtime.readers() as session:
            rows = session.scalars(select(LegalHold).order_by(LegalHold.placed_at.desc())).all()
        return Template("holds.html", context={"user": user, "holds": rows, "done": done})

    @post("/holds", status_code=303, sync_to_thread=True)
    def place(
        self, request: Request[Any, Any, Any], state: State,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:  # fmt: skip
        """Place a hold (audited)."""
        user = signed_in(request, *OVERSIGHT)
        until = _day(data.get("until"))
        try:
            with transaction(state.runtime.sessions) as session:
                hold = place_hold(session, data.get("call", "").strip(), data.get("reason", ""), actor=user.name,
                                  until=until)  # fmt: skip
        except HoldError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return Redirect("/console/holds?" + urlencode({"done": f"Legal hold {hold.id} placed."}), status_code=303)

    @post("/holds/{hold_id:int}/release", status_code=303, sync_to_thread=True)
    def release(
        self, hold_id: FromPath[int], request: Request[Any, Any, Any], state: State,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:  # fmt: skip
        """Release a hold (audited)."""
        user = signed_in(request, *OVERSIGHT)
        try:
            with transaction(state.runtime.sessions) as session:
                release_holds(session, str(hold_id), data.get("reason", ""), actor=user.name)
        except HoldError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return Redirect("/console/holds?" + urlencode({"done": f"Legal hold {hold_id} released."}), status_code=303)

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
