"""The continuous recording loop, top to bottom.

Twilio answers -> `answer` (a call row, then `<Record>`). A chunk is recorded -> `recorded` registers it
(idempotent on RecordingSid) and starts `process` in the background, and Twilio is sent straight on to `wait`,
which long-polls (no thread blocked) until the reply is playable, the AI failed, or the budget is spent.
`process` fetches the media from Twilio, seals and stores it (or spools it when the store is down), asks the
responder, seals and stores the reply. Whatever fails, the caller hears no error: recording resumes.

State lives in the database, so a turn completes when Twilio's next request lands on another instance; the
in-process events only make the common single-instance case wake up sooner than the poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session

from compliance.crypto import ObjectIdentity
from service.audio import to_wav
from service.calls import CallerGeo, open_call
from service.db import transaction, utcnow
from service.errors import ServiceError
from service.media import MediaNotReadyError, MediaRefusedError, TwilioMedia
from service.metrics import Metrics
from service.models import Call, RecordingChunk, new_id
from service.replies import ReplyUrls
from service.responders import CallContext, Reply, Responder, ResponderError, Turn
from service.runtime import Runtime
from service.settings import Settings
from service.spool import SpooledStore
from service.twiml import Twiml
from service.vault import Vault

log = logging.getLogger(__name__)
T = TypeVar("T")

FINISHED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
POLL_S = 0.25
SWEEP_BATCH = 20
MAX_FETCH_ATTEMPTS = 30


class BadWebhookError(ServiceError):
    """A webhook lacks a parameter Twilio always sends."""


@dataclass(frozen=True)
class RecordingPost:
    """The parameters of Twilio's `<Record action>` request that the loop uses."""

    call_sid: str
    recording_sid: str
    recording_url: str
    duration_s: int | None
    digits: str

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> RecordingPost:
        """Parse, or `BadWebhookError` naming what is missing."""
        missing = [name for name in ("CallSid", "RecordingSid", "RecordingUrl") if not form.get(name)]
        if missing:
            msg = f"Recording webhook without {', '.join(missing)}."
            raise BadWebhookError(msg)
        duration = form.get("RecordingDuration", "")
        return cls(
            call_sid=form["CallSid"],
            recording_sid=form["RecordingSid"],
            recording_url=form["RecordingUrl"],
            duration_s=int(duration) if duration.isdigit() else None,
            digits=form.get("Digits", ""),
        )


@dataclass(frozen=True)
class TurnState:
    """Where one chunk's turn stands."""

    done: bool
    has_reply: bool
    failed: bool
    age_s: float
    call_id: str


def failure(error_class: str, message: str) -> dict[str, Any]:
    """The columns that record a failed turn."""
    return {"error_class": error_class, "processing_error": message, "processed": False, "processed_at": utcnow()}


def recording_identity(chunk: RecordingChunk) -> ObjectIdentity:
    """The identity a chunk's audio is sealed under."""
    return ObjectIdentity("recording", chunk.call_id, chunk.chunk_number)


def reply_identity(chunk: RecordingChunk) -> ObjectIdentity:
    """The identity the AI's reply to a chunk is sealed under."""
    return ObjectIdentity("reply", chunk.call_id, chunk.chunk_number)


def turn_text_identity(chunk: RecordingChunk) -> ObjectIdentity:
    """The identity a chunk's transcript and reply text are sealed under."""
    return ObjectIdentity("turn-text", chunk.call_id, chunk.chunk_number)


class CallLoop:
    """The loop's decisions, callable without HTTP."""

    def __init__(
        self,
        runtime: Runtime,
        responder: Responder,
        media: TwilioMedia | None,
        store: SpooledStore,
        metrics: Metrics,
        instance_id: str,
    ) -> None:
        self.runtime = runtime
        self.settings: Settings = runtime.settings
        self.responder = responder
        self.media = media
        self.store = store
        self.vault = Vault(store, runtime.vault.keys)
        self.metrics = metrics
        self.instance_id = instance_id
        self.twiml = Twiml(self.settings)
        self.reply_urls = ReplyUrls(
            runtime.keyring.subkey(b"hotline-recorder reply url v1"),
            self.settings.public_url,
            self.settings.reply_url_ttl_s,
        )
        self.lease_s = self.settings.turn_give_up_s + self.settings.media_fetch_budget_s + 60
        self._events: dict[str, asyncio.Event] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args))

    # --- 1. The call is answered -------------------------------------------------------------------------

    async def answer(self, form: Mapping[str, str]) -> str:
        """Create the call (idempotent on CallSid) and start recording at once: no greeting, no beep."""
        try:
            call_id = await self._db(self._open_call, form)
        except Exception:  # the caller must be recorded even if the database is down
            log.exception("could not record the call row; answering anyway")
            call_id = new_id()
        return self.twiml.listen(call_id)

    def _open_call(self, form: Mapping[str, str]) -> str:
        with transaction(self.runtime.sessions) as session:
            return self._open_call_in(session, form, None).id

    def _open_call_in(self, session: Session, form: Mapping[str, str], call_id: str | None) -> Call:
        return open_call(
            session,
            self.vault,
            self.runtime.pseudonyms,
            call_sid=form["CallSid"],
            caller_number=form.get("From") or form.get("Caller"),
            called_number=form.get("To") or form.get("Called"),
            geo=CallerGeo(
                form.get("FromCity") or None,
                form.get("FromState") or None,
                form.get("FromZip") or None,
                form.get("FromCountry") or None,
            ),
            call_id=call_id,
        )

    # --- 2. A chunk was recorded ---------------------------------------------------------------------------

    async def recorded(self, call_id: str, form: Mapping[str, str]) -> str:
        """Register the chunk, start processing it, and send Twilio on to wait for the reply."""
        post = RecordingPost.from_form(form)
        hung_up = post.digits == "hangup"
        wants_human = post.digits == "0" and self.settings.escalation_number is not None
        with_ai = not (hung_up or wants_human)
        chunk_id, created, call_id = await self._db(self._register_chunk, call_id, post, form, True)
        if created:
            self._spawn(self.process(chunk_id, with_ai=with_ai, claimed=True))
        elif await self._db(self._turn_unfinished, chunk_id):
            # Known already (the status callback came first, or a retry after a crash): finish its turn.
            self._spawn(self.process(chunk_id, with_ai=with_ai))
        if hung_up:
            # Twilio posts the partial recording after the caller hung up; it is stored, nothing is played.
            return self.twiml.hangup()
        if wants_human:
            await self._db(self._mark_escalated, call_id)
            self.metrics.turns.labels(outcome="escalated").inc()
            return self.twiml.escalate(call_id)
        return self.twiml.wait(call_id, chunk_id, pause_s=0)

    def _register_chunk(
        self, call_id: str, post: RecordingPost, form: Mapping[str, str], claim: bool = False
    ) -> tuple[str, bool, str]:
        """The chunk for this recording, created (and, with `claim`, leased to this instance) on first sight."""
        for _attempt in range(5):
            try:
                with transaction(self.runtime.sessions) as session:
                    existing = session.scalars(
                        select(RecordingChunk).where(RecordingChunk.recording_sid == post.recording_sid)
                    ).first()
                    if existing is not None:
                        return existing.id, False, existing.call_id
                    call = session.get(Call, call_id) or self._open_call_in(session, form, call_id)
                    number = session.scalar(
                        select(func.coalesce(func.max(RecordingChunk.chunk_number), 0)).where(
                            RecordingChunk.call_id == call.id
                        )
                    )
                    chunk = RecordingChunk(
                        id=new_id(),
                        call_id=call.id,
                        chunk_number=int(number or 0) + 1,
                        recording_sid=post.recording_sid,
                        recording_url=post.recording_url,
                        duration_s=post.duration_s,
                        storage_state="pending",
                    )
                    if claim:
                        now = utcnow()
                        chunk.lease_owner, chunk.processing_started_at = self.instance_id, now
                        chunk.lease_until = now + dt.timedelta(seconds=self.lease_s)
                    session.add(chunk)
                    session.flush()
                    return chunk.id, True, call.id
            except DbIntegrityError:
                # Twilio's retry or the status callback registered it (or took the number) concurrently.
                continue
        msg = f"Could not register recording {post.recording_sid} after concurrent conflicts."
        raise ServiceError(msg)

    def _mark_escalated(self, call_id: str) -> None:
        with transaction(self.runtime.sessions) as session:
            session.execute(update(Call).where(Call.id == call_id).values(escalated_at=utcnow()))

    # --- 3. Waiting for the reply (long-poll) --------------------------------------------------------------

    async def wait(self, call_id: str, chunk_id: str) -> str:
        """Answer as soon as the reply is playable, or within the budget with another short wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.turn_budget_s
        event = self._events.setdefault(chunk_id, asyncio.Event())
        try:
            while True:
                state = await self._db(self._turn_state, chunk_id)
                if state is None:
                    return self.twiml.listen(call_id)
                if state.done:
                    return await self._after_turn(state, chunk_id)
                if state.age_s > self.settings.turn_give_up_s:
                    self.metrics.turns.labels(outcome="gave_up").inc()
                    return self.twiml.listen(state.call_id)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return self.twiml.wait(state.call_id, chunk_id, pause_s=1)
                # Woken by this instance's processing, or by the poller when another instance finished it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=remaining)
        finally:
            if self._events.get(chunk_id) is event and event.is_set():
                del self._events[chunk_id]

    async def run_poller(self) -> None:
        """Every POLL_S, one query for all awaited turns: wakes waiters whose turn another instance finished."""
        while True:
            await asyncio.sleep(POLL_S)
            waiting = [chunk_id for chunk_id, event in self._events.items() if not event.is_set()]
            if not waiting:
                continue
            try:
                done = await self._db(self._finished_among, waiting)
            except Exception:  # noqa: BLE001 - a failed poll only delays waiters until their budget ends
                log.warning("turn poll failed")
                continue
            for chunk_id in done:
                event = self._events.get(chunk_id)
                if event is not None:
                    event.set()

    def _finished_among(self, chunk_ids: list[str]) -> list[str]:
        with self.runtime.readers() as session:
            return list(
                session.scalars(
                    select(RecordingChunk.id).where(
                        RecordingChunk.id.in_(chunk_ids),
                        RecordingChunk.response_audio_key.is_not(None)
                        | RecordingChunk.error_class.is_not(None)
                        | RecordingChunk.processed,
                    )
                )
            )

    async def _after_turn(self, state: TurnState, chunk_id: str) -> str:
        if state.has_reply:
            self.metrics.turns.labels(outcome="reply").inc()
            return self.twiml.play_then_listen(state.call_id, self.reply_urls.url(chunk_id))
        if state.failed:
            self.metrics.turns.labels(outcome="ai_failed").inc()
            if self.settings.escalation_number and await self._db(self._failures_in_a_row, state.call_id) >= (
                self.settings.escalation_after_failures
            ):
                await self._db(self._mark_escalated, state.call_id)
                self.metrics.turns.labels(outcome="escalated").inc()
                return self.twiml.escalate(state.call_id)
            return self.twiml.listen(state.call_id)
        self.metrics.turns.labels(outcome="no_reply").inc()
        return self.twiml.listen(state.call_id)

    def _turn_state(self, chunk_id: str) -> TurnState | None:
        with self.runtime.readers() as session:
            chunk = session.get(RecordingChunk, chunk_id)
            if chunk is None:
                return None
            has_reply = chunk.response_audio_key is not None
            failed = chunk.error_class is not None
            done = has_reply or failed or chunk.processed
            age = (utcnow() - chunk.recorded_at).total_seconds()
            return TurnState(done, has_reply, failed, age, chunk.call_id)

    def _failures_in_a_row(self, call_id: str) -> int:
        with self.runtime.readers() as session:
            recent = session.scalars(
                select(RecordingChunk.error_class)
                .where(RecordingChunk.call_id == call_id)
                .order_by(RecordingChunk.chunk_number.desc())
                .limit(self.settings.escalation_after_failures)
            ).all()
        count = 0
        for error_class in recent:
            if error_class is None:
                break
            count += 1
        return count

    # --- 4. Callbacks --------------------------------------------------------------------------------------

    async def recording_status(self, call_id: str, form: Mapping[str, str]) -> None:
        """Twilio's reliable signal that a recording is ready: store it if the turn did not."""
        if form.get("RecordingStatus") != "completed" or not form.get("RecordingSid"):
            return
        post = RecordingPost(
            call_sid=form.get("CallSid", ""),
            recording_sid=form["RecordingSid"],
            recording_url=form.get("RecordingUrl", ""),
            duration_s=int(form["RecordingDuration"]) if form.get("RecordingDuration", "").isdigit() else None,
            digits="",
        )
        if not post.recording_url or not post.call_sid:
            return
        chunk_id, _created, _call_id = await self._db(self._register_chunk, call_id, post, form)
        if await self._db(self._needs_storing, chunk_id):
            self._spawn(self.process(chunk_id, with_ai=False))

    def _turn_unfinished(self, chunk_id: str) -> bool:
        with self.runtime.readers() as session:
            chunk = session.get(RecordingChunk, chunk_id)
            return chunk is not None and not (
                chunk.processed or chunk.error_class or chunk.response_audio_key or chunk.lease_owner
            )

    def _needs_storing(self, chunk_id: str) -> bool:
        with self.runtime.readers() as session:
            chunk = session.get(RecordingChunk, chunk_id)
            leased = chunk is not None and chunk.lease_until is not None and chunk.lease_until > utcnow()
            return chunk is not None and chunk.storage_state == "pending" and not leased

    async def call_status(self, form: Mapping[str, str]) -> None:
        """Record the call's status; a finished call is closed (pending chunks keep being stored)."""
        await self._db(self._update_call_status, form)

    def _update_call_status(self, form: Mapping[str, str]) -> None:
        status = form.get("CallStatus", "")
        with transaction(self.runtime.sessions) as session:
            call = session.scalars(select(Call).where(Call.call_sid == form.get("CallSid", ""))).first()
            if call is None or not status:
                return
            call.status = status
            if status in FINISHED and call.ended_at is None:
                call.ended_at = utcnow()
                duration = form.get("CallDuration", "")
                call.duration_s = int(duration) if duration.isdigit() else None

    # --- 5. Processing a chunk (background) ----------------------------------------------------------------

    def reprocess(self, chunk_id: str) -> None:
        """Run AI processing for a stored chunk again, in the background (the management API's request)."""
        self._spawn(self.process(chunk_id, with_ai=True))

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def process(self, chunk_id: str, *, with_ai: bool, claimed: bool = False) -> None:
        """Fetch, store, and (with_ai) answer one chunk. Never raises: failures are recorded on the chunk.

        The outcome and the release of the lease are one write, so a turn costs few database commits.
        """
        if not claimed and not await self._db(self._claim, chunk_id):
            return
        try:
            outcome = await self._process_claimed(chunk_id, with_ai=with_ai)
        except Exception as exc:  # a background turn must record its failure, not vanish
            log.exception("chunk processing failed", extra={"chunk_id": chunk_id})
            outcome = failure("internal", f"Internal error: {type(exc).__name__}.")
        try:
            await self._db(self._set_chunk, chunk_id, {**outcome, "lease_owner": None, "lease_until": None})
        finally:
            event = self._events.get(chunk_id)
            if event is not None:
                event.set()

    async def _process_claimed(self, chunk_id: str, *, with_ai: bool) -> dict[str, Any]:
        """The chunk's work; returns the columns to write with the lease's release."""
        chunk = await self._db(self._load_chunk, chunk_id)
        audio: bytes | None = None
        if chunk.storage_state == "pending":
            audio, problem = await self._fetch(chunk, record_failure=with_ai)
            if audio is None:
                return problem
            stored, in_primary = await self._db(self._store_recording, chunk_id, audio, with_ai)
            if self.settings.delete_from_twilio and in_primary:
                await self._delete_from_twilio(chunk_id, chunk.recording_url)
            if not with_ai:
                return stored
        if not with_ai:
            return {}
        if audio is None:
            audio = await self._db(self._read_recording, chunk_id)
        context = await self._db(self._context, chunk_id)
        try:
            reply = await asyncio.wait_for(self.responder.respond(audio, context), timeout=self.settings.turn_give_up_s)
        except ResponderError as exc:
            self.metrics.ai_failures.labels(error_class=exc.error_class).inc()
            return failure(exc.error_class, str(exc))
        except TimeoutError:
            self.metrics.ai_failures.labels(error_class="timeout").inc()
            return failure("timeout", "The AI responder did not answer in time.")
        return await self._db(self._store_reply, chunk_id, reply)

    async def _fetch(self, chunk: RecordingChunk, *, record_failure: bool) -> tuple[bytes | None, dict[str, Any]]:
        """The media, or None and the columns that say why not."""
        if self.media is None:
            return None, failure("media_unavailable", "Twilio credentials are not set.")
        try:
            return await self.media.fetch(chunk.recording_url, self.settings.media_fetch_budget_s), {}
        except MediaRefusedError as exc:
            log.warning("refused recording media host", extra={"chunk_id": chunk.id})
            return None, {"storage_state": "refused", **failure("media_refused", str(exc))}
        except MediaNotReadyError as exc:
            log.info("recording media not ready; chunk stays pending", extra={"chunk_id": chunk.id})
            attempt: dict[str, Any] = {"fetch_attempts": RecordingChunk.fetch_attempts + 1}
            return None, {**attempt, **(failure("media_unavailable", str(exc)) if record_failure else {})}

    async def _delete_from_twilio(self, chunk_id: str, url: str) -> None:
        assert self.media is not None
        # Only after the encrypted copy reads back and matches its checksum.
        await self._db(self._read_recording, chunk_id)
        try:
            deleted = await self.media.delete(url)
        except Exception:  # noqa: BLE001 - Twilio's copy simply stays; retention can remove it later
            log.warning("could not delete the recording at Twilio", extra={"chunk_id": chunk_id})
            return
        if deleted:
            await self._db(self._set_chunk, chunk_id, {"twilio_deleted_at": utcnow()})

    # --- database steps (run in worker threads) ------------------------------------------------------------

    def _claim(self, chunk_id: str) -> bool:
        now = utcnow()
        with transaction(self.runtime.sessions) as session:
            claimed = session.execute(
                update(RecordingChunk)
                .where(
                    RecordingChunk.id == chunk_id,
                    (RecordingChunk.lease_until.is_(None)) | (RecordingChunk.lease_until < now),
                )
                .values(
                    lease_owner=self.instance_id,
                    lease_until=now + dt.timedelta(seconds=self.lease_s),
                    processing_started_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(claimed, "rowcount", 0))

    def _load_chunk(self, chunk_id: str) -> RecordingChunk:
        with self.runtime.readers() as session:
            chunk = session.get(RecordingChunk, chunk_id)
            if chunk is None:
                msg = f"Chunk {chunk_id} does not exist."
                raise ServiceError(msg)
            session.expunge(chunk)
            return chunk

    def _set_chunk(self, chunk_id: str, values: dict[str, Any]) -> None:
        with transaction(self.runtime.sessions) as session:
            session.execute(update(RecordingChunk).where(RecordingChunk.id == chunk_id).values(**values))

    def _store_recording(self, chunk_id: str, audio: bytes, with_ai: bool) -> tuple[dict[str, Any], bool]:
        """Seal and store the chunk; written at once when a reply follows, else returned for the final write."""
        # Seal (data key row committed), write the blob, then point the chunk at it: the fsync'd blob write
        # holds no database lock, and a crash in between leaves only an orphan key row, never a dangling row.
        with transaction(self.runtime.sessions) as session:
            chunk = session.get(RecordingChunk, chunk_id)
            assert chunk is not None
            key = f"calls/{chunk.call_id}/{chunk.id}.wav.enc"
            sealed = self.vault.seal_object(session, recording_identity(chunk), key, audio)
        in_primary = self.store.put_or_spool(key, sealed.blob)
        self.metrics.chunks_stored.labels(state="stored" if in_primary else "spooled").inc()
        log.info("chunk stored" if in_primary else "chunk spooled", extra={"chunk_id": chunk_id})
        values = {
            "storage_key": key, "data_key_id": sealed.stored.data_key_id,
            "plaintext_sha256": sealed.stored.plaintext_sha256, "size_bytes": sealed.stored.size_bytes,
            "codec": "wav", "tier": "hot", "storage_state": "stored" if in_primary else "spooled",
        }  # fmt: skip
        if with_ai or self.settings.delete_from_twilio:
            self._set_chunk(chunk_id, values)
            return {}, in_primary
        return values, in_primary

    def _read_recording(self, chunk_id: str) -> bytes:
        with self.runtime.readers() as session:
            chunk = session.get(RecordingChunk, chunk_id)
            if chunk is None or chunk.storage_key is None or chunk.data_key_id is None:
                msg = f"Chunk {chunk_id} has no stored audio."
                raise ServiceError(msg)
            audio = self.vault.get(
                session, recording_identity(chunk), chunk.storage_key, chunk.data_key_id, chunk.plaintext_sha256
            )
            return to_wav(audio, chunk.codec)

    def _context(self, chunk_id: str) -> CallContext:
        with self.runtime.readers() as session:
            chunk = session.get(RecordingChunk, chunk_id)
            assert chunk is not None
            earlier = session.scalars(
                select(RecordingChunk)
                .where(
                    RecordingChunk.call_id == chunk.call_id,
                    RecordingChunk.chunk_number < chunk.chunk_number,
                    RecordingChunk.turn_text_sealed.is_not(None),
                )
                .order_by(RecordingChunk.chunk_number)
            ).all()
            turns = []
            language = None
            for previous in earlier:
                assert previous.turn_text_sealed is not None and previous.turn_text_key_id is not None
                text = json.loads(
                    self.vault.open(
                        session, turn_text_identity(previous), previous.turn_text_key_id, previous.turn_text_sealed
                    )
                )
                turns.append(Turn(text.get("transcript"), text.get("reply_text")))
                language = previous.detected_language or language
            return CallContext(chunk.call_id, chunk.chunk_number, tuple(turns), language)

    def _store_reply(self, chunk_id: str, reply: Reply) -> dict[str, Any]:
        values: dict[str, Any] = {}
        blob: tuple[str, bytes] | None = None
        with transaction(self.runtime.sessions) as session:
            chunk = session.get(RecordingChunk, chunk_id)
            assert chunk is not None
            if reply.audio is not None:
                key = f"replies/{chunk.call_id}/{chunk.id}.wav.enc"
                sealed = self.vault.seal_object(session, reply_identity(chunk), key, reply.audio)
                blob = (key, sealed.blob)
                values.update(response_audio_key=key, response_data_key_id=sealed.stored.data_key_id)
            if reply.transcript or reply.reply_text:
                text = json.dumps({"transcript": reply.transcript, "reply_text": reply.reply_text}).encode()
                key_id, sealed_text = self.vault.seal_new(session, turn_text_identity(chunk), text)
                values.update(turn_text_key_id=key_id, turn_text_sealed=sealed_text)
        if blob is not None:
            self.store.put_or_spool(*blob)
        now = utcnow()
        values.update(
            processed=True, processed_at=now, response_ready_at=now, responder=self.responder.name,
            detected_language=reply.language, error_class=None, processing_error=None,
        )  # fmt: skip
        return values

    def read_reply(self, chunk_id: str) -> bytes | None:
        """The decrypted reply audio for Twilio's `<Play>` fetch."""
        with self.runtime.readers() as session:
            chunk = session.get(RecordingChunk, chunk_id)
            if chunk is None or chunk.response_audio_key is None or chunk.response_data_key_id is None:
                return None
            return self.vault.get(
                session, reply_identity(chunk), chunk.response_audio_key, chunk.response_data_key_id, None
            )

    async def mark_played(self, chunk_id: str) -> None:
        """Twilio fetched the reply to play it."""
        await self._db(self._set_chunk, chunk_id, {"response_played": True})

    # --- 6. Recovery: the spool and chunks left pending ----------------------------------------------------

    async def sweep(self) -> None:
        """Move spooled blobs to the store when it is back, and store chunks whose media was not ready."""
        moved = await self._db(self._drain_spool)
        if moved:
            log.info("moved %d spooled blobs to the store", moved)
        self.metrics.spooled.set(await self._db(self.store.spooled_count))
        for chunk_id in await self._db(self._stale_pending):
            await self.process(chunk_id, with_ai=False)

    def _drain_spool(self) -> int:
        moved = 0
        for key in list(self.store.spooled_keys()):
            try:
                self.store.move_to_primary(key)
            except ServiceError:
                return moved  # the store is still unavailable; try again next sweep
            with transaction(self.runtime.sessions) as session:
                session.execute(
                    update(RecordingChunk)
                    .where(RecordingChunk.storage_key == key, RecordingChunk.storage_state == "spooled")
                    .values(storage_state="stored")
                )
            moved += 1
        return moved

    def _stale_pending(self) -> list[str]:
        now = utcnow()
        with self.runtime.readers() as session:
            return list(
                session.scalars(
                    select(RecordingChunk.id)
                    .where(
                        RecordingChunk.storage_state == "pending",
                        RecordingChunk.fetch_attempts < MAX_FETCH_ATTEMPTS,
                        RecordingChunk.recorded_at < now - dt.timedelta(seconds=self.settings.media_fetch_budget_s * 2),
                        (RecordingChunk.lease_until.is_(None)) | (RecordingChunk.lease_until < now),
                    )
                    .order_by(RecordingChunk.recorded_at)
                    .limit(SWEEP_BATCH)
                )
            )

    async def run_sweeper(self) -> None:
        """Sweep forever, every `HOTLINE_SPOOL_RETRY_S`."""
        while True:
            try:
                await self.sweep()
            except Exception:  # the sweeper must survive a bad round
                log.exception("sweep failed")
            await asyncio.sleep(self.settings.spool_retry_s)

    async def drain_tasks(self, timeout_s: float) -> None:
        """On shutdown: let in-flight chunks finish storing (up to a bound)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)

    def active_calls(self) -> int:
        """Calls not yet finished."""
        with self.runtime.readers() as session:
            return int(session.scalar(select(func.count()).select_from(Call).where(Call.ended_at.is_(None))) or 0)
