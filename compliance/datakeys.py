"""Per-object data keys: created and wrapped, unwrapped for one read, re-wrapped on rotation, destroyed.

The wrapped keys live in the database, never beside the blobs: destroying a key (crypto-shredding) makes the
object unrecoverable from any backup of the blob store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance.crypto import new_data_key
from compliance.errors import KeyUnavailableError
from compliance.keys.base import KeyProvider, WrappedKey
from compliance.keys.keyring import KeyringProvider
from compliance.models import DataKey
from service.db import utcnow


@dataclass(frozen=True)
class NewDataKey:
    """A freshly made data key: its row id and the plaintext key, to be used once and dropped."""

    id: int
    key: bytes


class DataKeys:
    """Data keys wrapped by the active provider; any configured provider can unwrap its own."""

    def __init__(self, active: KeyProvider, others: Mapping[str, KeyProvider] | None = None) -> None:
        self.active = active
        self.providers: dict[str, KeyProvider] = {**(others or {}), active.name: active}

    @staticmethod
    def _context(row: DataKey) -> dict[str, str]:
        return {"purpose": row.purpose, "object": row.object_ref}

    def create(self, session: Session, purpose: str, object_ref: str) -> NewDataKey:
        """Make, wrap and record a new data key in the session's transaction."""
        key = new_data_key()
        row = DataKey(purpose=purpose, object_ref=object_ref, provider="", kek_id="", wrapped_key=None)
        wrapped = self.active.wrap(key, self._context(row))
        row.provider, row.kek_id, row.kek_version = wrapped.provider, wrapped.kek_id, wrapped.kek_version
        row.wrapped_key = wrapped.wrapped
        session.add(row)
        session.flush()
        return NewDataKey(row.id, key)

    def unwrap(self, session: Session, data_key_id: int) -> bytes:
        """The plaintext data key, or `KeyUnavailableError` saying why not (destroyed, unknown provider...)."""
        row = session.get(DataKey, data_key_id)
        if row is None:
            msg = f"Data key {data_key_id} does not exist."
            raise KeyUnavailableError(msg)
        if row.wrapped_key is None:
            when = row.destroyed_at.isoformat(timespec="seconds") if row.destroyed_at else "an unknown time"
            msg = f"Data key {data_key_id} was destroyed at {when} (crypto-shredded); its object is gone."
            raise KeyUnavailableError(msg)
        provider = self.providers.get(row.provider)
        if provider is None:
            msg = f"Data key {data_key_id} was wrapped by {row.provider!r}, which is not configured here."
            raise KeyUnavailableError(msg)
        wrapped = WrappedKey(row.provider, row.kek_id, row.kek_version, row.wrapped_key)
        try:
            return provider.unwrap(wrapped, self._context(row))
        except KeyUnavailableError as exc:
            msg = f"Data key {data_key_id}: {exc}"
            raise KeyUnavailableError(msg) from exc

    @staticmethod
    def destroy(session: Session, data_key_id: int) -> None:
        """Crypto-shred: forget the wrapped key for good."""
        row = session.get(DataKey, data_key_id)
        if row is None or row.wrapped_key is None:
            return
        row.wrapped_key = None
        row.destroyed_at = utcnow()
        session.flush()


def rewrap_to_active(session: Session, provider: KeyringProvider, *, batch_size: int = 500) -> int:
    """Re-wrap every live keyring data key under the active version, in batches; blobs are not touched.

    Call within a transaction per batch; returns how many keys were re-wrapped in this call (0 when done).
    """
    ring = provider.keyring
    rows = session.scalars(
        select(DataKey)
        .where(
            DataKey.provider == provider.name,
            DataKey.kek_id == ring.kek_id,
            DataKey.wrapped_key.is_not(None),
            DataKey.kek_version != ring.active_version,
        )
        .order_by(DataKey.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    ).all()
    now = utcnow()
    for row in rows:
        assert row.wrapped_key is not None
        key = provider.unwrap(WrappedKey(row.provider, row.kek_id, row.kek_version, row.wrapped_key), {})
        wrapped = provider.wrap(key, {})
        row.kek_version, row.wrapped_key, row.rewrapped_at = wrapped.kek_version, wrapped.wrapped, now
    session.flush()
    return len(rows)


def count_wrapped_by(session: Session, provider: KeyringProvider, version: int) -> int:
    """How many live data keys still need `version` to be unwrapped."""
    count = session.scalar(
        select(func.count())
        .select_from(DataKey)
        .where(
            DataKey.provider == provider.name,
            DataKey.kek_id == provider.keyring.kek_id,
            DataKey.kek_version == version,
            DataKey.wrapped_key.is_not(None),
        )
    )
    return int(count or 0)
