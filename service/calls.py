"""Plain functions over a session for calls and their caller data (no HTTP here)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.crypto import ObjectIdentity
from compliance.pseudonyms import Pseudonymizer, normalize_number
from service.models import Call, new_id
from service.vault import Vault

CALLER_NUMBER = "caller-number"


@dataclass(frozen=True)
class CallerGeo:
    """Twilio's caller geo fields, as posted with each webhook."""

    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None


def open_call(
    session: Session,
    vault: Vault,
    pseudonyms: Pseudonymizer,
    *,
    call_sid: str,
    caller_number: str | None,
    called_number: str | None,
    geo: CallerGeo,
    call_id: str | None = None,
) -> Call:
    """The call with this CallSid, created on first sight; the caller's number is pseudonymized and sealed."""
    existing = session.scalars(select(Call).where(Call.call_sid == call_sid)).first()
    if existing is not None:
        return existing
    call = Call(
        id=call_id or new_id(),
        call_sid=call_sid,
        called_number=called_number,
        caller_city=geo.city,
        caller_state=geo.state,
        caller_zip=geo.zip,
        caller_country=geo.country,
    )
    if caller_number:
        normalized = normalize_number(caller_number)
        call.caller_lookup = pseudonyms.lookup(normalized)
        key_id, sealed = vault.seal_new(session, ObjectIdentity(CALLER_NUMBER, call.id), normalized.encode())
        call.caller_number_key_id, call.caller_number_sealed = key_id, sealed
    session.add(call)
    session.flush()
    return call


def reveal_caller_number(session: Session, vault: Vault, call: Call, access: audit.AuditEntry) -> str | None:
    """Decrypt a call's caller number; the access is audited in the same transaction, or nothing is shown."""
    audit.append(session, access)
    if call.caller_number_sealed is None or call.caller_number_key_id is None:
        return None
    identity = ObjectIdentity(CALLER_NUMBER, call.id)
    return vault.open(session, identity, call.caller_number_key_id, call.caller_number_sealed).decode()
