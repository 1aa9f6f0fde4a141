"""The interface every blob store implements, and the rules every storage key follows."""

from __future__ import annotations

import re
from typing import Literal, Protocol

from service.errors import InvalidStorageKeyError

Tier = Literal["hot", "archive"]

_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
MAX_KEY_LENGTH = 400


def validate_key(key: str) -> str:
    """Accept only relative keys of safe segments: no `..`, no absolute paths, no empty segments."""
    if len(key) > MAX_KEY_LENGTH or not _KEY_PATTERN.fullmatch(key) or ".." in key.split("/"):
        msg = f"Refusing storage key {key!r}: keys are relative paths of letters, digits, '.', '_' and '-'."
        raise InvalidStorageKeyError(msg)
    return key


class BlobStore(Protocol):
    """Stores opaque (already encrypted) blobs by key."""

    description: str

    def put(self, key: str, data: bytes, *, tier: Tier = "hot") -> None:
        """Store `data` durably under `key`, replacing any object there."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes stored under `key`, or `ObjectNotFoundError`."""
        ...

    def delete(self, key: str) -> bool:
        """Remove the object; False when there was none."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        ...

    def check(self) -> None:
        """Raise `StorageUnavailableError` when the store cannot be written now (readiness)."""
        ...
