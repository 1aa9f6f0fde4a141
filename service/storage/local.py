"""Blobs as files under one root directory: atomic writes, mode 0600, no path escapes the root."""

from __future__ import annotations

import os
from pathlib import Path

from compliance.files import fsync_directory, write_secret_file
from service.errors import InvalidStorageKeyError, ObjectNotFoundError, StorageUnavailableError
from service.storage.base import Tier, validate_key


class LocalStore:
    """A `BlobStore` on the local filesystem."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.description = f"file://{self.root}"

    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        if not path.is_relative_to(self.root):
            msg = f"Refusing storage key {key!r}: it resolves outside the store."
            raise InvalidStorageKeyError(msg)
        return path

    def put(self, key: str, data: bytes, *, tier: Tier = "hot") -> None:
        """Write to a temporary file, fsync it, rename it over the key, fsync the directory."""
        path = self._path(key)
        try:
            write_secret_file(path, data)
        except OSError as exc:
            msg = f"Cannot write {key} to {self.description}: {exc.strerror or exc}."
            raise StorageUnavailableError(msg) from exc

    def get(self, key: str) -> bytes:
        """Read the whole object."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            msg = f"No object {key} in {self.description}."
            raise ObjectNotFoundError(msg) from exc
        except OSError as exc:
            msg = f"Cannot read {key} from {self.description}: {exc.strerror or exc}."
            raise StorageUnavailableError(msg) from exc

    def delete(self, key: str) -> bool:
        """Unlink the file and make the unlink durable."""
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            msg = f"Cannot delete {key} from {self.description}: {exc.strerror or exc}."
            raise StorageUnavailableError(msg) from exc
        fsync_directory(path.parent)
        return True

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self._path(key).is_file()

    def check(self) -> None:
        """The root exists (or can be made) and is writable."""
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            msg = f"The store {self.description} cannot be created: {exc.strerror or exc}."
            raise StorageUnavailableError(msg) from exc
        if not os.access(self.root, os.W_OK):
            msg = f"The store {self.description} is not writable."
            raise StorageUnavailableError(msg)
