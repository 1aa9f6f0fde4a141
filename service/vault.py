"""The encrypted store: every object sealed under its own data key before it reaches the blob store.

`put` records the data key in the caller's transaction and writes the blob before that transaction commits,
so a failure can leave at worst an orphan blob nobody can decrypt, never a row pointing at a missing blob.
Every `get` authenticates the ciphertext (AES-GCM) and checks the plaintext SHA-256 recorded at write time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from compliance.crypto import ObjectIdentity, seal, unseal
from compliance.datakeys import DataKeys
from service.errors import IntegrityError
from service.storage.base import BlobStore, Tier


@dataclass(frozen=True)
class StoredObject:
    """Where an object went and what proves it later."""

    storage_key: str
    data_key_id: int
    plaintext_sha256: str
    size_bytes: int


@dataclass(frozen=True)
class SealedObject:
    """A sealed blob and what its row must record."""

    stored: StoredObject
    blob: bytes


def object_ref(identity: ObjectIdentity) -> str:
    """The data key's label: what object it protects (no caller data)."""
    chunk = "" if identity.chunk_number is None else f":{identity.chunk_number}"
    return f"{identity.purpose}:{identity.call_id}{chunk}"


class Vault:
    """Seals objects into a `BlobStore` and small values into database columns."""

    def __init__(self, store: BlobStore, keys: DataKeys) -> None:
        self.store = store
        self.keys = keys

    def seal_new(self, session: Session, identity: ObjectIdentity, plaintext: bytes) -> tuple[int, bytes]:
        """Seal `plaintext` under a new data key; returns the key's id and the sealed bytes."""
        data_key = self.keys.create(session, identity.purpose, object_ref(identity))
        bound = replace(identity, data_key_id=data_key.id)
        return data_key.id, seal(data_key.key, bound, plaintext)

    def open(self, session: Session, identity: ObjectIdentity, data_key_id: int, sealed: bytes) -> bytes:
        """Authenticate and decrypt bytes sealed by `seal_new` for the same identity."""
        key = self.keys.unwrap(session, data_key_id)
        return unseal(key, replace(identity, data_key_id=data_key_id), sealed)

    def seal_object(
        self, session: Session, identity: ObjectIdentity, storage_key: str, plaintext: bytes
    ) -> SealedObject:
        """Seal one object for `storage_key` without storing it (the caller picks where it goes)."""
        data_key_id, blob = self.seal_new(session, identity, plaintext)
        stored = StoredObject(
            storage_key=storage_key,
            data_key_id=data_key_id,
            plaintext_sha256=hashlib.sha256(plaintext).hexdigest(),
            size_bytes=len(plaintext),
        )
        return SealedObject(stored, blob)

    def put(
        self, session: Session, identity: ObjectIdentity, storage_key: str, plaintext: bytes, *, tier: Tier = "hot"
    ) -> StoredObject:
        """Seal and store one object."""
        sealed = self.seal_object(session, identity, storage_key, plaintext)
        self.store.put(storage_key, sealed.blob, tier=tier)
        return sealed.stored

    def get(
        self,
        session: Session,
        identity: ObjectIdentity,
        storage_key: str,
        data_key_id: int,
        expected_sha256: str | None,
    ) -> bytes:
        """Fetch, authenticate, decrypt and check one object."""
        plaintext = self.open(session, identity, data_key_id, self.store.get(storage_key))
        if expected_sha256 is not None and hashlib.sha256(plaintext).hexdigest() != expected_sha256:
            msg = f"The stored {identity.describe()} does not match the checksum recorded when it was stored."
            raise IntegrityError(msg)
        return plaintext
