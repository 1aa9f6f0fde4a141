"""retention: due objects are shredded and removed with signed evidence; legal holds win."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from compliance.deletions import deletion_is_authentic
from compliance.holds import HoldError, place_hold, release_holds
from compliance.models import AuditEvent, DataKey, DeletionRecord
from compliance.retention import RetentionPolicy
from service.db import transaction
from service.runtime import Runtime
from tests.jobs.conftest import call_row, chunk, run, seed


def hold(runtime: Runtime, call_id: str, **kwargs: object) -> int:
    with transaction(runtime.sessions) as session:
        return place_hold(session, call_id, "litigation 2026-17", actor="compliance-officer", **kwargs).id  # type: ignore[arg-type]


def test_due_recordings_are_shredded_and_held_calls_kept(runtime: Runtime, tmp_path: Path) -> None:
    free, held = seed(runtime, calls=1, chunks_per_call=2), seed(runtime, calls=1)
    hold(runtime, held.call_ids[0])
    early, _ = run(runtime, "retention", days_ahead=89)
    assert early.changed == 0
    result, _ = run(runtime, "retention", days_ahead=91)
    assert result.outcome == "succeeded"
    for chunk_id in free.chunk_ids:
        row = chunk(runtime, chunk_id)
        assert row.deleted_at is not None and row.storage_key is None
        assert not any((tmp_path / "store" / "calls").rglob(f"{chunk_id}*"))
        with runtime.readers() as session:
            key = session.get(DataKey, row.data_key_id)
            assert key is not None and key.wrapped_key is None and key.destroyed_at is not None
    kept = chunk(runtime, held.chunk_ids[0])
    assert kept.deleted_at is None and (tmp_path / "store" / str(kept.storage_key)).exists()
    with runtime.readers() as session:
        records = session.scalars(select(DeletionRecord).where(DeletionRecord.object_type == "recording")).all()
        assert sorted(r.object_id for r in records) == sorted(free.chunk_ids)
        assert all(r.policy == "recording-90d" and r.plaintext_sha256 for r in records)
        assert all(deletion_is_authentic(r, runtime.signer.verifier()) for r in records)
        records[0].policy = "forged"
        assert not deletion_is_authentic(records[0], runtime.signer.verifier())


def test_releasing_the_hold_lets_retention_proceed(runtime: Runtime) -> None:
    seeded = seed(runtime, calls=1)
    hold(runtime, seeded.call_ids[0])
    run(runtime, "retention", days_ahead=91)
    assert chunk(runtime, seeded.chunk_ids[0]).deleted_at is None
    with transaction(runtime.sessions) as session:
        released = release_holds(session, seeded.call_ids[0], "case closed", actor="compliance-officer")
    assert len(released) == 1
    run(runtime, "retention", days_ahead=91)
    assert chunk(runtime, seeded.chunk_ids[0]).deleted_at is not None
    with runtime.readers() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions == ["hold.place", "hold.release"]


def test_hold_that_expired_no_longer_protects(runtime: Runtime) -> None:
    seeded = seed(runtime, calls=1)
    hold(runtime, seeded.call_ids[0], until=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    run(runtime, "retention", days_ahead=91)
    assert chunk(runtime, seeded.chunk_ids[0]).deleted_at is not None


def test_hold_errors_are_clear(runtime: Runtime) -> None:
    seeded = seed(runtime, calls=1)
    with pytest.raises(HoldError, match="No call"), transaction(runtime.sessions) as session:
        place_hold(session, "nope", "x", actor="a")
    with pytest.raises(HoldError, match="reason"), transaction(runtime.sessions) as session:
        place_hold(session, seeded.call_ids[0], " ", actor="a")
    with pytest.raises(HoldError, match="no active legal hold"), transaction(runtime.sessions) as session:
        release_holds(session, seeded.call_ids[0], "x", actor="a")


def test_dry_run_lists_what_and_why(runtime: Runtime) -> None:
    seeded = seed(runtime, calls=1)
    result, ctx = run(runtime, "retention", days_ahead=91, dry_run=True)
    assert result.changed == 0
    assert any(seeded.chunk_ids[0] in line and "recording-90d" in line for line in ctx.details["_lines"])
    assert chunk(runtime, seeded.chunk_ids[0]).deleted_at is None


def test_call_metadata_goes_last_and_audit_is_never_shortened(runtime: Runtime) -> None:
    seeded = seed(runtime, calls=1)
    run(runtime, "retention", days_ahead=91)
    assert call_row(runtime, seeded.call_ids[0]) is not None
    run(runtime, "retention", days_ahead=2200)
    assert call_row(runtime, seeded.call_ids[0]) is None
    with runtime.readers() as session:
        record = session.scalars(select(DeletionRecord).where(DeletionRecord.object_type == "call")).one()
        assert record.policy == "call_metadata-2190d"
    with pytest.raises(ValueError, match="at least"):
        RetentionPolicy.from_days(audit_events=30)


def test_longest_policy_wins() -> None:
    policy = RetentionPolicy.from_days(recording=90, transcript=30, call_metadata=2190)
    assert policy.governing("recording", "transcript").days == 90
    assert policy.governing("transcript", "call_metadata", "recording").name == "call_metadata-2190d"
