"""The spool: sealed blobs wait on local disk when the store is down, and move to the store when it is back.

`SpooledStore` is a `BlobStore`: writes go to the primary store, or to the spool when the primary fails;
reads look in the primary, then the spool. Only sealed (encrypted) bytes ever reach either.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

from service.errors import ObjectNotFoundError, StorageError, StorageUnavailableError
from service.storage.base import BlobStore, Tier
from service.storage.local import LocalStore

log = logging.getLogger(__name__)


class SpooledStore:
    """A primary store with a local spool behind it."""

    def __init__(self, primary: BlobStore, spool_dir: Path) -> None:
        self.primary = primary
        self.spool = LocalStore(spool_dir)
        self.description = primary.description

    def put(self, key: str, data: bytes, *, tier: Tier = "hot") -> None:
        """Store in the primary, or spool; see `put_or_spool`."""
        self.put_or_spool(key, data, tier=tier)

    def put_or_spool(self, key: str, data: bytes, *, tier: Tier = "hot") -> bool:
        """True when the blob went to the primary, False when it was spooled (the primary failed)."""
        try:
            self.primary.put(key, data, tier=tier)
        except StorageUnavailableError as exc:
            log.warning("store unavailable, spooling blob: %s", exc)
            self.spool.put(key, data, tier=tier)
            return False
        return True

    def get(self, key: str) -> bytes:
        """From the primary, else from the spool."""
        try:
            return self.primary.get(key)
        except StorageError as first:
            try:
                return self.spool.get(key)
            except ObjectNotFoundError:
                raise first from None

    def delete(self, key: str) -> bool:
        """Delete from both."""
        spooled = self.spool.delete(key)
        return self.primary.delete(key) or spooled

    def exists(self, key: str) -> bool:
        """In either place."""
        return self.spool.exists(key) or self.primary.exists(key)

    def check(self) -> None:
        """The primary's readiness."""
        self.primary.check()

    def spooled_keys(self) -> Iterator[str]:
        """Keys waiting in the spool."""
        root = self.spool.root
        if not root.exists():
            return
        for directory, _dirs, files in os.walk(root):
            for name in files:
                if not name.startswith("."):
                    yield str((Path(directory) / name).relative_to(root))

    def spooled_count(self) -> int:
        """How many blobs wait in the spool."""
        return sum(1 for _ in self.spooled_keys())

    def move_to_primary(self, key: str) -> None:
        """Copy one spooled blob to the primary, check it arrived intact, then drop it from the spool."""
        data = self.spool.get(key)
        self.primary.put(key, data)
        if self.primary.get(key) != data:
            msg = f"Spooled blob {key} did not read back intact from {self.primary.description}."
            raise StorageUnavailableError(msg)
        self.spool.delete(key)
