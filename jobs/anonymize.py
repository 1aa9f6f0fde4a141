"""anonymize: old calls lose everything that identifies the caller, irreversibly and idempotently.

The sealed caller number's data key is destroyed (its copies in backups become unreadable) and the column
cleared; city, state and ZIP are dropped, the country kept. The keyed lookup pseudonym stays: it cannot be
reversed without the keyring's pepper. Calls under a legal hold are left as they are.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.holds import held_call_ids
from jobs.runner import JobContext
from service.db import transaction, utcnow
from service.models import Call


def anonymize(ctx: JobContext) -> None:
    """Anonymize every call older than HOTLINE_ANONYMIZE_AFTER_DAYS."""
    cutoff = ctx.as_of - dt.timedelta(days=ctx.runtime.settings.anonymize_after_days)
    with ctx.runtime.readers() as session:
        held = held_call_ids(session, ctx.as_of)
    query = select(Call).where(Call.anonymized_at.is_(None), Call.started_at < cutoff).order_by(Call.started_at)
    if held:
        query = query.where(Call.id.not_in(held))
    while ctx.remaining > 0:
        if ctx.dry_run:
            with ctx.runtime.readers() as session:
                calls = list(session.scalars(query.offset(ctx.counts["examined"]).limit(ctx.batch_size)))
                for call in calls:
                    ctx.count("examined")
                    ctx.say(f"would anonymize call {call.id} (started {call.started_at:%Y-%m-%d})")
            if not calls:
                return
            continue
        with transaction(ctx.runtime.sessions) as session:
            batch = query.limit(ctx.batch_size)
            if session.get_bind().dialect.name == "postgresql":
                batch = batch.with_for_update(skip_locked=True)
            calls = list(session.scalars(batch))
            for call in calls:
                ctx.count("examined")
                _anonymize(ctx, session, call)
                ctx.count("changed")
        if not calls:
            return


def _anonymize(ctx: JobContext, session: Session, call: Call) -> None:
    if call.caller_number_key_id is not None:
        ctx.runtime.vault.keys.destroy(session, call.caller_number_key_id)
    call.caller_number_sealed = None
    call.caller_city = call.caller_state = call.caller_zip = None
    call.anonymized_at = utcnow()
    audit.append(
        session,
        audit.AuditEntry(
            actor=f"job:{ctx.name}", role="system", action="call.anonymize", object_type="call", object_id=call.id,
            call_id=call.id, purpose="retention policy: anonymize call metadata",
        ),
    )  # fmt: skip
