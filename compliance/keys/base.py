"""The interface every key-encryption-key provider implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class WrappedKey:
    """A data key wrapped by a key-encryption key, with what is needed to find that key again."""

    provider: str
    kek_id: str
    kek_version: int | None
    wrapped: bytes


class KeyProvider(Protocol):
    """Wraps and unwraps data keys; the key-encryption keys never leave the provider."""

    name: str

    def wrap(self, data_key: bytes, context: Mapping[str, str]) -> WrappedKey:
        """Wrap `data_key` with the current key-encryption key."""
        ...

    def unwrap(self, wrapped: WrappedKey, context: Mapping[str, str]) -> bytes:
        """Recover a data key, or raise `KeyUnavailableError` saying why it cannot be."""
        ...
