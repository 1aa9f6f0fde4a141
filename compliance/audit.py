"""The tamper-evident access audit log: hash-chained events and signed checkpoints.

Each event stores the hash of the event before it and the SHA-256 of its own canonical content. A chain
alone cannot show that the newest events were cut off or that someone with database access rewrote it all,
so (like CloudTrail's digest files) signed checkpoints state the chain head at a moment; they are signed with
the keyring's Ed25519 key, which is never in the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import DDL, RowMapping, event, select, update
from sqlalchemy.orm import Session

from compliance.errors import AuditChainError
from compliance.models import AuditChainHead, AuditCheckpoint, AuditEvent
from compliance.signing import Signer, Verifier, canonical_json
from service.db import utcnow

GENESIS_HASH = "0" * 64
HEAD_ROW_ID = 1
VERIFY_BATCH = 2000

# The head row must exist before the first append; creating it lazily would race between appenders.
event.listen(
    AuditChainHead.__table__,
    "after_create",
    DDL(  # type: ignore[no-untyped-call]
        f"INSERT INTO audit_chain_head (id, seq, hash) VALUES ({HEAD_ROW_ID}, 0, '{GENESIS_HASH}')"  # noqa: S608
    ),
)


@dataclass(frozen=True)
class AuditEntry:
    """What happened, by whom, to what, why, from where and with what outcome (NIST AU-3)."""

    actor: str
    role: str
    action: str
    object_type: str
    object_id: str | None = None
    call_id: str | None = None
    purpose: str | None = None
    client_addr: str | None = None
    outcome: str = "success"
    details: Mapping[str, Any] = field(default_factory=dict)


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _content(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The hashed content of an event: every column but its own hash."""
    return {
        "seq": row["seq"],
        "occurred_at": _timestamp(row["occurred_at"]),
        "actor": row["actor"],
        "role": row["role"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "call_id": row["call_id"],
        "purpose": row["purpose"],
        "client_addr": row["client_addr"],
        "outcome": row["outcome"],
        "details": row["details"],
        "prev_hash": row["prev_hash"],
    }


def event_hash(row: Mapping[Any, Any]) -> str:
    """SHA-256 of an event's canonical content."""
    return hashlib.sha256(canonical_json(_content(row))).hexdigest()


def append(session: Session, entry: AuditEntry, *, now: dt.datetime | None = None) -> AuditEvent:
    """Append one event in the caller's transaction, so the event and the action commit or fail together.

    The head row is claimed with an UPDATE first: PostgreSQL row-locks it and SQLite takes its write lock,
    so concurrent appenders queue up instead of forking the chain.
    """
    claimed = session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ROW_ID)
        .values(seq=AuditChainHead.seq + 1)
        .returning(AuditChainHead.seq, AuditChainHead.hash)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if claimed is None:
        msg = "The audit log has no chain head row; run `hotline db upgrade` on this database."
        raise AuditChainError(msg)
    seq, prev_hash = claimed
    row: dict[str, Any] = {
        "seq": seq,
        "occurred_at": now or utcnow(),
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "call_id": entry.call_id,
        "purpose": entry.purpose,
        "client_addr": entry.client_addr,
        "outcome": entry.outcome,
        "details": json.dumps(dict(entry.details), sort_keys=True, separators=(",", ":")),
        "prev_hash": prev_hash,
    }
    row["hash"] = event_hash(row)
    audit_event = AuditEvent(**row)
    session.add(audit_event)
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ROW_ID)
        .values(hash=row["hash"])
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return audit_event


def _checkpoint_payload(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {
        "event_seq": checkpoint.event_seq,
        "head_hash": checkpoint.head_hash,
        "created_at": _timestamp(checkpoint.created_at),
        "prev_signature": checkpoint.prev_signature,
        "signing_key_id": checkpoint.signing_key_id,
    }


def write_checkpoint(session: Session, signer: Signer, *, now: dt.datetime | None = None) -> AuditCheckpoint:
    """Sign the current chain head, chained to the previous checkpoint's signature."""
    head = session.execute(
        select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.id == HEAD_ROW_ID).with_for_update()
    ).one_or_none()
    if head is None:
        msg = "The audit log has no chain head row; run `hotline db upgrade` on this database."
        raise AuditChainError(msg)
    previous = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).first()
    checkpoint = AuditCheckpoint(
        event_seq=head.seq,
        head_hash=head.hash,
        created_at=now or utcnow(),
        prev_signature=previous.signature if previous else None,
        signing_key_id=signer.key_id,
        signature="",
    )
    checkpoint.signature = signer.sign(_checkpoint_payload(checkpoint))
    session.add(checkpoint)
    session.flush()
    return checkpoint


@dataclass
class VerifyReport:
    """The outcome of recomputing the chain and the checkpoints."""

    events: int = 0
    checkpoints: int = 0
    last_hash: str = GENESIS_HASH
    first_bad_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return self.problem is None

    def fail(self, seq: int | None, problem: str) -> VerifyReport:
        """Record the first problem found (later ones are consequences of it)."""
        if self.problem is None:
            self.first_bad_seq, self.problem = seq, problem
        return self


def verify(session: Session, verifier: Verifier) -> VerifyReport:
    """Recompute every event hash, the links between events, and every checkpoint.

    Events are streamed in batches, so memory stays flat however long the log is.
    """
    report = VerifyReport()
    checkpoints = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)))
    report.checkpoints = len(checkpoints)
    if not _verify_checkpoint_signatures(checkpoints, verifier, report):
        return report
    checkpoint_at = {c.event_seq: c for c in checkpoints}

    rows = session.execute(
        select(AuditEvent.__table__).order_by(AuditEvent.seq).execution_options(yield_per=VERIFY_BATCH)
    ).mappings()
    for row in rows:
        problem = _event_problem(row, report.events + 1, report.last_hash, checkpoint_at.get(row["seq"]))
        if problem is not None:
            return report.fail(*problem)
        report.events, report.last_hash = row["seq"], row["hash"]

    problem = _tail_problem(session, report, checkpoints[-1] if checkpoints else None)
    return report.fail(*problem) if problem else report


def _event_problem(
    row: RowMapping, expected_seq: int, prev_hash: str, checkpoint: AuditCheckpoint | None
) -> tuple[int, str] | None:
    """What is wrong with one event, given the one before it, or None."""
    seq = row["seq"]
    if seq != expected_seq:
        what = "missing (deleted)" if seq > expected_seq else "duplicated or out of order"
        return expected_seq, f"Audit event {expected_seq} is {what}; the log jumps to {seq}."
    if row["prev_hash"] != prev_hash:
        return seq, (
            f"Audit event {seq} does not link to event {seq - 1}: an event was altered, inserted, "
            "removed or reordered there."
        )
    if event_hash(row) != row["hash"]:
        return seq, f"Audit event {seq} was altered: its content no longer matches its hash."
    if checkpoint is not None and checkpoint.head_hash != row["hash"]:
        return seq, f"Audit event {seq} differs from what signed checkpoint {checkpoint.id} recorded."
    return None


def _tail_problem(session: Session, report: VerifyReport, last: AuditCheckpoint | None) -> tuple[int, str] | None:
    """Whether the newest events were cut off: the last checkpoint or the head row knows of more."""
    if last is not None and last.event_seq > report.events:
        return report.events + 1, (
            f"The log ends at event {report.events}, but signed checkpoint {last.id} covers events up to "
            f"{last.event_seq}: the newest events were cut off."
        )
    head = session.get(AuditChainHead, HEAD_ROW_ID)
    if head is None:
        return report.events + 1, "The audit chain's head row is missing; the log's end cannot be confirmed."
    if (head.seq, head.hash) != (report.events, report.last_hash):
        return min(head.seq, report.events) + 1, (
            f"The chain head records event {head.seq}, but the log ends at event {report.events}."
        )
    return None


def _verify_checkpoint_signatures(checkpoints: list[AuditCheckpoint], verifier: Verifier, report: VerifyReport) -> bool:
    previous: AuditCheckpoint | None = None
    for checkpoint in checkpoints:
        if checkpoint.signing_key_id != verifier.key_id or not verifier.is_valid(
            _checkpoint_payload(checkpoint), checkpoint.signature
        ):
            report.fail(checkpoint.event_seq, f"Signed checkpoint {checkpoint.id} has an invalid signature.")
            return False
        expected_prev = previous.signature if previous else None
        if checkpoint.prev_signature != expected_prev or (
            previous is not None and checkpoint.event_seq < previous.event_seq
        ):
            report.fail(
                checkpoint.event_seq,
                f"Signed checkpoint {checkpoint.id} does not follow the checkpoint before it "
                "(a checkpoint was removed or reordered).",
            )
            return False
        previous = checkpoint
    return True
