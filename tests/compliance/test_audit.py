"""The hash-chained audit log: intact chains verify; every kind of tampering is found and named."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from compliance import audit
from compliance.keys import Keyring
from compliance.models import AuditChainHead, AuditCheckpoint, AuditEvent
from compliance.signing import Signer
from service.db import transaction
from service.runtime import Runtime


def entry(n: int, **overrides: object) -> audit.AuditEntry:
    values: dict[str, object] = {
        "actor": f"counselor-{n % 3}",
        "role": "counselor",
        "action": "recording.playback",
        "object_type": "chunk",
        "object_id": f"chunk-{n}",
        "call_id": f"call-{n % 5}",
        "purpose": "quality review",
        "client_addr": "127.0.0.1",
        "outcome": "success",
        "details": {"n": n},
    }
    values.update(overrides)
    return audit.AuditEntry(**values)  # type: ignore[arg-type]


def append_events(runtime: Runtime, count: int, start: int = 1) -> None:
    with transaction(runtime.sessions) as session:
        for n in range(start, start + count):
            audit.append(session, entry(n))


def verify(runtime: Runtime) -> audit.VerifyReport:
    with transaction(runtime.sessions) as session:
        return audit.verify(session, runtime.signer.verifier())


def checkpoint(runtime: Runtime) -> AuditCheckpoint:
    with transaction(runtime.sessions) as session:
        return audit.write_checkpoint(session, runtime.signer)


def test_empty_log_verifies(runtime: Runtime) -> None:
    report = verify(runtime)
    assert report.ok
    assert report.events == 0


def test_intact_chain_with_checkpoints_verifies(runtime: Runtime) -> None:
    append_events(runtime, 5)
    checkpoint(runtime)
    append_events(runtime, 5, start=6)
    checkpoint(runtime)
    append_events(runtime, 2, start=11)
    report = verify(runtime)
    assert report.ok, report.problem
    assert (report.events, report.checkpoints) == (12, 2)
    with transaction(runtime.sessions) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [e.seq for e in events] == list(range(1, 13))
        assert events[0].prev_hash == audit.GENESIS_HASH
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
        assert events[3].occurred_at.tzinfo is not None


def test_event_stores_every_au3_field(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        audit.append(session, entry(1, outcome="denied", purpose="court order 42"))
    with transaction(runtime.sessions) as session:
        event = session.scalars(select(AuditEvent)).one()
        assert (event.actor, event.role, event.action, event.object_type, event.object_id) == (
            "counselor-1",
            "counselor",
            "recording.playback",
            "chunk",
            "chunk-1",
        )
        assert (event.purpose, event.client_addr, event.outcome) == ("court order 42", "127.0.0.1", "denied")
        assert abs(event.occurred_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_event_is_rolled_back_with_the_action(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError), transaction(runtime.sessions) as session:
        audit.append(session, entry(1))
        raise RuntimeError("the audited action failed")
    append_events(runtime, 1, start=2)
    report = verify(runtime)
    assert report.ok
    assert report.events == 1


@pytest.mark.parametrize(
    "column,value",
    [
        ("actor", "someone-else"),
        ("purpose", "nothing to see"),
        ("outcome", "failure"),
        ("object_id", "chunk-999"),
        ("details", '{"n":99}'),
    ],
)
def test_altered_event_is_named(runtime: Runtime, column: str, value: str) -> None:
    append_events(runtime, 6)
    with transaction(runtime.sessions) as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 4).values({column: value}))
    report = verify(runtime)
    assert not report.ok
    assert report.first_bad_seq == 4
    assert "altered" in (report.problem or "")


def test_altered_event_with_recomputed_hash_breaks_the_next_link(runtime: Runtime) -> None:
    append_events(runtime, 6)
    with transaction(runtime.sessions) as session:
        event = session.get(AuditEvent, 3)
        assert event is not None
        event.actor = "forger"
        event.hash = audit.event_hash({c.name: getattr(event, c.name) for c in AuditEvent.__table__.columns})
    report = verify(runtime)
    assert not report.ok
    assert report.first_bad_seq == 4
    assert "does not link to event 3" in (report.problem or "")


def test_deleted_event_is_named(runtime: Runtime) -> None:
    append_events(runtime, 6)
    with transaction(runtime.sessions) as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
    report = verify(runtime)
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "missing" in (report.problem or "")


def test_inserted_event_is_found(runtime: Runtime) -> None:
    append_events(runtime, 4)
    with transaction(runtime.sessions) as session:
        # Renumber to make room, then forge an event at 3 that links to event 2.
        for seq in (4, 3):
            session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(seq=seq + 1))
        two = session.get(AuditEvent, 2)
        assert two is not None
        forged = {c.name: getattr(two, c.name) for c in AuditEvent.__table__.columns}
        forged.update(seq=3, actor="forger", prev_hash=two.hash)
        forged["hash"] = audit.event_hash(forged)
        session.add(AuditEvent(**forged))
    report = verify(runtime)
    assert not report.ok
    assert report.first_bad_seq == 4


def test_reordered_events_are_found(runtime: Runtime) -> None:
    append_events(runtime, 5)
    with transaction(runtime.sessions) as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(seq=100))
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(seq=2))
        session.execute(update(AuditEvent).where(AuditEvent.seq == 100).values(seq=3))
    report = verify(runtime)
    assert (report.ok, report.first_bad_seq) == (False, 2)


def test_tail_cut_before_last_checkpoint_is_found(runtime: Runtime) -> None:
    append_events(runtime, 8)
    checkpoint(runtime)
    with transaction(runtime.sessions) as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq >= 7))
        # A careful intruder also rewinds the head row.
        six = session.get(AuditEvent, 6)
        assert six is not None
        session.execute(update(AuditChainHead).values(seq=6, hash=six.hash))
    report = verify(runtime)
    assert not report.ok
    assert report.first_bad_seq == 7
    assert "cut off" in (report.problem or "")


def test_tail_cut_after_last_checkpoint_is_found_by_the_head_row(runtime: Runtime) -> None:
    append_events(runtime, 8)
    with transaction(runtime.sessions) as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 8))
    report = verify(runtime)
    assert not report.ok
    assert "chain head records event 8" in (report.problem or "")


def test_rewritten_chain_fails_against_checkpoint(runtime: Runtime) -> None:
    append_events(runtime, 4)
    checkpoint(runtime)
    # Someone with database access rewrites event 2 and re-hashes everything after it.
    with transaction(runtime.sessions) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        events[1].actor = "forger"
        prev = events[0].hash
        for event in events[1:]:
            event.prev_hash = prev
            event.hash = audit.event_hash({c.name: getattr(event, c.name) for c in AuditEvent.__table__.columns})
            prev = event.hash
        session.execute(update(AuditChainHead).values(hash=prev))
    report = verify(runtime)
    assert not report.ok
    assert report.first_bad_seq == 4
    assert "checkpoint" in (report.problem or "")


def test_forged_checkpoint_is_found(runtime: Runtime, tmp_path: Path) -> None:
    append_events(runtime, 3)
    forger = Keyring.create(tmp_path / "forger.json")
    with transaction(runtime.sessions) as session:
        audit.write_checkpoint(session, Signer(forger.signing_key, runtime.signer.key_id))
    report = verify(runtime)
    assert not report.ok
    assert "invalid signature" in (report.problem or "")


def test_removed_checkpoint_is_found(runtime: Runtime) -> None:
    append_events(runtime, 2)
    first = checkpoint(runtime)
    append_events(runtime, 2, start=3)
    checkpoint(runtime)
    with transaction(runtime.sessions) as session:
        session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.id == first.id))
    report = verify(runtime)
    assert not report.ok
    assert "does not follow" in (report.problem or "")


def test_concurrent_appenders_keep_one_chain(runtime: Runtime) -> None:
    writers, per_writer = 6, 25
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(per_writer):
                with transaction(runtime.sessions) as session:
                    audit.append(session, entry(worker * 1000 + n, actor=f"writer-{worker}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify(runtime)
    assert report.ok, report.problem
    assert report.events == writers * per_writer
