"""Caller numbers never reach a plaintext column: a keyed pseudonym and a sealed copy, revealed only audited."""

from __future__ import annotations

from sqlalchemy import select, text

from compliance import audit
from compliance.models import AuditEvent
from service.calls import CallerGeo, open_call, reveal_caller_number
from service.db import transaction
from service.models import Call
from service.runtime import Runtime

NUMBER = "+15550104477"  # synthetic, from the 555-01xx range reserved for fiction


def make_call(runtime: Runtime, sid: str = "CA" + "1" * 32, number: str | None = NUMBER) -> Call:
    with transaction(runtime.sessions) as session:
        return open_call(
            session,
            runtime.vault,
            runtime.pseudonyms,
            call_sid=sid,
            caller_number=number,
            called_number="+15550100000",
            geo=CallerGeo("Springfield", "IL", "62701", "US"),
        )


def test_number_is_not_stored_in_plaintext(runtime: Runtime) -> None:
    call = make_call(runtime)
    with runtime.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM calls")).all()
    dumped = repr(rows)
    assert NUMBER not in dumped
    assert NUMBER[1:] not in dumped
    assert call.caller_lookup == runtime.pseudonyms.lookup("+1 (555) 010-4477")


def test_open_call_is_idempotent_on_call_sid(runtime: Runtime) -> None:
    first = make_call(runtime)
    second = make_call(runtime)
    assert first.id == second.id
    with transaction(runtime.sessions) as session:
        assert len(session.scalars(select(Call)).all()) == 1


def test_reveal_is_audited(runtime: Runtime) -> None:
    call = make_call(runtime)
    access = audit.AuditEntry(
        actor="alice",
        role="admin",
        action="caller.number.read",
        object_type="call",
        object_id=call.id,
        call_id=call.id,
        purpose="safeguarding escalation",
    )
    with transaction(runtime.sessions) as session:
        assert reveal_caller_number(session, runtime.vault, call, access) == NUMBER
    with transaction(runtime.sessions) as session:
        event = session.scalars(select(AuditEvent)).one()
        assert (event.actor, event.action, event.call_id) == ("alice", "caller.number.read", call.id)
        assert NUMBER not in repr(event.__dict__)


def test_withheld_number(runtime: Runtime) -> None:
    call = make_call(runtime, number=None)
    assert call.caller_lookup is None
    assert call.caller_number_sealed is None
