"""The report queries: each returns a `Report` whose rows stream from the database with stable field names."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance.deletions import deletion_is_authentic
from compliance.holds import HoldError, find_call
from compliance.models import AuditEvent, DeletionRecord, LegalHold
from compliance.signing import Verifier
from jobs.models import JobRun
from reports.errors import ReportError
from service.models import Call, RecordingChunk

BATCH = 5000

FIELDS: dict[str, list[str]] = {
    "access": ["seq", "occurred_at", "actor", "role", "action", "object_type", "object_id", "call_id", "purpose",
               "client_addr", "outcome"],
    "call": ["at", "event", "object", "detail", "actor", "outcome"],
    "retention": ["data_class", "policy", "due_items", "due_bytes", "held_items", "held_bytes"],
    "holds": ["id", "call_id", "status", "placed_at", "placed_by", "until", "reason", "released_at", "released_by",
              "release_reason"],
    "deletions": ["id", "deleted_at", "object_type", "object_id", "call_id", "policy", "plaintext_sha256",
                  "signature_valid"],
    "processing": ["day", "calls", "chunks", "processed_pct", "failures_by_class", "latency_p50_ms",
                   "latency_p95_ms", "replies_delivered_pct"],
    "storage": ["tier", "codec", "objects", "bytes"],
    "jobs": ["id", "job", "started_at", "ended_at", "outcome", "dry_run", "examined", "changed", "skipped", "failed",
             "error"],
}  # fmt: skip


@dataclass
class Report:
    """A titled stream of rows with known fields, and totals for the table view."""

    name: str
    title: str
    # Mappings by field name, or sequences already in field order.
    rows: Iterable[Any]
    totals: dict[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> list[str]:
        """The documented field names, in order."""
        return FIELDS[self.name]


def _resolve_call(session: Session, ref: str) -> str:
    try:
        return find_call(session, ref).id
    except HoldError as exc:
        raise ReportError(str(exc)) from None


def access(
    session: Session, *, since: dt.datetime | None, until: dt.datetime | None, actor: str | None, call: str | None,
    action: str | None,
) -> Report:  # fmt: skip
    """Who accessed which recordings or caller data, when, why, with what outcome."""
    query = select(*(AuditEvent.__table__.c[name] for name in FIELDS["access"])).order_by(AuditEvent.seq)
    if since:
        query = query.where(AuditEvent.occurred_at >= since)
    if until:
        query = query.where(AuditEvent.occurred_at < until)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if call:
        query = query.where(AuditEvent.call_id == _resolve_call(session, call))
    if action:
        query = query.where(
            AuditEvent.action.startswith(action) if action.endswith(".") else AuditEvent.action == action
        )

    def rows() -> Iterator[Any]:
        # Core rows, already in field order, straight from the connection: no ORM layer for a million events.
        yield from session.connection().execution_options(yield_per=BATCH).execute(query)

    return Report("access", "Access to recordings and caller data", rows())


def call_custody(session: Session, ref: str, *, recording_days: int, verifier: Verifier) -> Report:
    """The chain of custody of one call, as a timeline."""
    call = session.get(Call, _resolve_call(session, ref))
    assert call is not None
    events: list[dict[str, Any]] = []

    def add(at: dt.datetime | None, event: str, obj: str, detail: str = "", actor: str = "", outcome: str = "") -> None:
        if at is not None:
            events.append({"at": at, "event": event, "object": obj, "detail": detail, "actor": actor,
                           "outcome": outcome})  # fmt: skip

    add(call.started_at, "call started", call.id, f"status {call.status}, country {call.caller_country or '?'}")
    add(call.ended_at, "call ended", call.id, f"{call.duration_s or 0} s")
    add(call.escalated_at, "escalated to a human", call.id)
    add(call.anonymized_at, "caller data anonymized", call.id)
    for chunk in call.chunks:
        name = f"chunk {chunk.chunk_number}"
        add(chunk.recorded_at, "recorded", name, f"{chunk.duration_s or 0} s, {chunk.storage_state}")
        add(chunk.processed_at, "AI processed" if chunk.processed else "AI failed", name,
            chunk.error_class or (chunk.responder or ""))  # fmt: skip
        if chunk.response_played:
            add(chunk.response_ready_at, "reply played", name)
        add(chunk.archived_at, "archived", name, f"{chunk.codec}, {chunk.tier}, {chunk.size_bytes} bytes")
        add(chunk.deleted_at, "recording deleted", name)
        if chunk.deleted_at is None:
            due = chunk.recorded_at + dt.timedelta(days=recording_days)
            add(due, "retention due", name, f"{chunk.tier} {chunk.codec}, {chunk.size_bytes or 0} bytes")
    for hold in session.scalars(select(LegalHold).where(LegalHold.call_id == call.id)):
        add(hold.placed_at, "legal hold placed", f"hold {hold.id}", hold.reason, hold.placed_by)
        add(
            hold.released_at,
            "legal hold released",
            f"hold {hold.id}",
            hold.release_reason or "",
            hold.released_by or "",
        )
    for record in session.scalars(select(DeletionRecord).where(DeletionRecord.call_id == call.id)):
        valid = "signature valid" if deletion_is_authentic(record, verifier) else "SIGNATURE INVALID"
        add(record.deleted_at, f"{record.object_type} deleted", record.object_id, f"{record.policy}, {valid}")
    for event in session.scalars(select(AuditEvent).where(AuditEvent.call_id == call.id).order_by(AuditEvent.seq)):
        who = f"{event.actor} ({event.role})"
        add(event.occurred_at, event.action, event.object_id or "", event.purpose or "", who, event.outcome)
    events.sort(key=lambda e: e["at"])
    return Report("call", f"Chain of custody of call {call.id} ({call.call_sid})", events, {"events": len(events)})


def retention_due(
    session: Session, *, days_ahead: int, as_of: dt.datetime, policy_days: dict[str, int], anonymize_days: int,
    held: set[str],
) -> Report:  # fmt: skip
    """What falls due for deletion or anonymization in the next N days, and what holds block."""
    horizon = as_of + dt.timedelta(days=days_ahead)
    classes = [
        ("recording", RecordingChunk.deleted_at, RecordingChunk.data_key_id, RecordingChunk.size_bytes),
        ("reply", RecordingChunk.reply_deleted_at, RecordingChunk.response_data_key_id, None),
        ("transcript", RecordingChunk.turn_text_deleted_at, RecordingChunk.turn_text_key_id, None),
    ]
    rows: list[dict[str, Any]] = []
    for name, deleted, key, size in classes:
        cutoff = horizon - dt.timedelta(days=policy_days[name])
        base = select(RecordingChunk.call_id, size if size is not None else RecordingChunk.id).where(
            deleted.is_(None), key.is_not(None), RecordingChunk.recorded_at < cutoff
        )
        due = held_n = due_bytes = held_bytes = 0
        for call_id, value in session.execute(base.execution_options(yield_per=BATCH)):
            nbytes = int(value) if size is not None and value else 0
            if call_id in held:
                held_n, held_bytes = held_n + 1, held_bytes + nbytes
            else:
                due, due_bytes = due + 1, due_bytes + nbytes
        rows.append({"data_class": name, "policy": f"{name}-{policy_days[name]}d", "due_items": due,
                     "due_bytes": due_bytes, "held_items": held_n, "held_bytes": held_bytes})  # fmt: skip
    cutoff = horizon - dt.timedelta(days=anonymize_days)
    calls = session.scalars(select(Call.id).where(Call.anonymized_at.is_(None), Call.started_at < cutoff)).all()
    rows.append({"data_class": "anonymization", "policy": f"anonymize-{anonymize_days}d",
                 "due_items": sum(1 for c in calls if c not in held), "due_bytes": 0,
                 "held_items": sum(1 for c in calls if c in held), "held_bytes": 0})  # fmt: skip
    totals = {"due_items": sum(r["due_items"] for r in rows), "due_bytes": sum(r["due_bytes"] for r in rows)}
    return Report("retention", f"Due in the next {days_ahead} days (until {horizon:%Y-%m-%d})", rows, totals)


def holds(session: Session, *, as_of: dt.datetime) -> Report:
    """Active and released legal holds."""
    rows = []
    for hold in session.scalars(select(LegalHold).order_by(LegalHold.placed_at)):
        if hold.released_at is not None:
            status = "released"
        elif hold.until is not None and hold.until <= as_of:
            status = "expired"
        else:
            status = "active"
        rows.append({name: status if name == "status" else getattr(hold, name) for name in FIELDS["holds"]})
    return Report("holds", "Legal holds", rows, {"active": sum(r["status"] == "active" for r in rows)})


def deletions(session: Session, *, since: dt.datetime | None, until: dt.datetime | None, verifier: Verifier) -> Report:
    """Deletion records in a period: evidence that retention ran."""
    query = select(DeletionRecord).order_by(DeletionRecord.deleted_at, DeletionRecord.id)
    if since:
        query = query.where(DeletionRecord.deleted_at >= since)
    if until:
        query = query.where(DeletionRecord.deleted_at < until)

    def rows() -> Iterator[dict[str, Any]]:
        for record in session.scalars(query.execution_options(yield_per=BATCH)):
            valid = deletion_is_authentic(record, verifier)
            yield {name: valid if name == "signature_valid" else getattr(record, name) for name in FIELDS["deletions"]}

    return Report("deletions", "Deletion records", rows())


def storage(session: Session) -> Report:
    """Stored recordings by tier and codec."""
    query = (
        select(
            RecordingChunk.tier,
            RecordingChunk.codec,
            func.count(),
            func.coalesce(func.sum(RecordingChunk.size_bytes), 0),
        )
        .where(RecordingChunk.deleted_at.is_(None), RecordingChunk.storage_key.is_not(None))
        .group_by(RecordingChunk.tier, RecordingChunk.codec)
        .order_by(RecordingChunk.tier, RecordingChunk.codec)
    )
    rows = [{"tier": t, "codec": c, "objects": int(n), "bytes": int(b)} for t, c, n, b in session.execute(query)]
    totals = {"objects": sum(r["objects"] for r in rows), "bytes": sum(r["bytes"] for r in rows)}
    return Report("storage", "Stored recordings by tier and codec", rows, totals)


def jobs(session: Session, *, since: dt.datetime | None) -> Report:
    """Job runs and their outcomes."""
    query = select(JobRun).order_by(JobRun.started_at.desc())
    if since:
        query = query.where(JobRun.started_at >= since)
    rows = [
        {"id": r.id, "job": r.job_name, "started_at": r.started_at, "ended_at": r.ended_at, "outcome": r.outcome,
         "dry_run": r.dry_run, "examined": r.examined, "changed": r.changed, "skipped": r.skipped, "failed": r.failed,
         "error": r.error}
        for r in session.scalars(query)
    ]  # fmt: skip
    return Report("jobs", "Job runs", rows, {"runs": len(rows), "failed": sum(r["outcome"] == "failed" for r in rows)})


def failures_text(failures: object) -> str:
    """Failures by class as one readable, stable string."""
    if failures is None:
        return ""
    pairs: list[tuple[str, int]] = list(failures.items()) if isinstance(failures, dict) else list(failures)  # type: ignore[call-overload]
    return json.dumps(dict(sorted(pairs)), separators=(",", ":"))
