"""Legal holds: while a hold is active, nothing of the call is deleted, shredded or anonymized."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.errors import ComplianceError
from compliance.models import LegalHold
from service.db import utcnow
from service.models import Call


class HoldError(ComplianceError):
    """A hold cannot be placed or released as asked."""


def find_call(session: Session, ref: str) -> Call:
    """A call by its id or its Twilio CallSid."""
    call = session.get(Call, ref) or session.scalars(select(Call).where(Call.call_sid == ref)).first()
    if call is None:
        msg = f"No call with id or CallSid {ref!r}."
        raise HoldError(msg)
    return call


def active_condition(as_of: dt.datetime) -> ColumnElement[bool]:
    """SQL condition: the hold is in force at `as_of`."""
    return (LegalHold.released_at.is_(None)) & (or_(LegalHold.until.is_(None), LegalHold.until > as_of))


def held_call_ids(session: Session, as_of: dt.datetime) -> set[str]:
    """Calls under an active hold."""
    return set(session.scalars(select(LegalHold.call_id).where(active_condition(as_of))))


def place_hold(session: Session, ref: str, reason: str, *, actor: str, until: dt.datetime | None = None) -> LegalHold:
    """Place a hold on a call (audited)."""
    if not reason.strip():
        msg = "A legal hold needs a reason."
        raise HoldError(msg)
    if until is not None and until <= utcnow():
        msg = "The hold's end date is in the past."
        raise HoldError(msg)
    call = find_call(session, ref)
    hold = LegalHold(call_id=call.id, reason=reason.strip(), placed_by=actor, until=until)
    session.add(hold)
    session.flush()
    audit.append(
        session,
        audit.AuditEntry(
            actor=actor, role="compliance", action="hold.place", object_type="legal_hold", object_id=str(hold.id),
            call_id=call.id, purpose=reason.strip(),
            details={"until": until.isoformat() if until else None},
        ),
    )  # fmt: skip
    return hold


def release_holds(session: Session, ref: str, reason: str, *, actor: str) -> list[LegalHold]:
    """Release a hold by its number, or every active hold of a call (by id or CallSid); audited."""
    if not reason.strip():
        msg = "Releasing a legal hold needs a reason."
        raise HoldError(msg)
    if ref.isdigit():
        hold = session.get(LegalHold, int(ref))
        if hold is None:
            msg = f"No legal hold {ref}."
            raise HoldError(msg)
        if hold.released_at is not None:
            msg = f"Legal hold {ref} was released already."
            raise HoldError(msg)
        holds = [hold]
    else:
        call = find_call(session, ref)
        holds = list(
            session.scalars(select(LegalHold).where(LegalHold.call_id == call.id, LegalHold.released_at.is_(None)))
        )
        if not holds:
            msg = f"Call {ref} has no active legal hold."
            raise HoldError(msg)
    now = utcnow()
    for hold in holds:
        hold.released_at, hold.released_by, hold.release_reason = now, actor, reason.strip()
        audit.append(
            session,
            audit.AuditEntry(
                actor=actor, role="compliance", action="hold.release", object_type="legal_hold",
                object_id=str(hold.id), call_id=hold.call_id, purpose=reason.strip(),
            ),
        )  # fmt: skip
    return holds
