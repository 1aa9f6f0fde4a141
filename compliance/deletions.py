"""Deletion records: signed evidence that an object was deleted under a policy, kept without the data."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy.orm import Session

from compliance.models import DeletionRecord
from compliance.signing import Signer, Verifier


def _payload(record: DeletionRecord) -> dict[str, Any]:
    return {
        "object_type": record.object_type,
        "object_id": record.object_id,
        "call_id": record.call_id,
        "policy": record.policy,
        "deleted_at": record.deleted_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "plaintext_sha256": record.plaintext_sha256,
        "ciphertext_sha256": record.ciphertext_sha256,
        "data_key_id": record.data_key_id,
        "details": record.details,
        "signing_key_id": record.signing_key_id,
    }


def record_deletion(
    session: Session,
    signer: Signer,
    *,
    object_type: str,
    object_id: str,
    call_id: str | None,
    policy: str,
    deleted_at: dt.datetime,
    plaintext_sha256: str | None = None,
    data_key_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> DeletionRecord:
    """Write a signed deletion record in the caller's transaction."""
    record = DeletionRecord(
        object_type=object_type,
        object_id=object_id,
        call_id=call_id,
        policy=policy,
        deleted_at=deleted_at,
        plaintext_sha256=plaintext_sha256,
        ciphertext_sha256=None,
        data_key_id=data_key_id,
        details=json.dumps(details or {}, sort_keys=True, separators=(",", ":")),
        signing_key_id=signer.key_id,
        signature="",
    )
    record.signature = signer.sign(_payload(record))
    session.add(record)
    return record


def deletion_is_authentic(record: DeletionRecord, verifier: Verifier) -> bool:
    """Whether a deletion record is as it was signed."""
    return record.signing_key_id == verifier.key_id and verifier.is_valid(_payload(record), record.signature)
