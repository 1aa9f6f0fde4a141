"""The exceptions of the service package; messages are full sentences that say what to do next."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error raised by the service package."""


class ConfigurationError(ServiceError):
    """A setting is missing or cannot be used."""


class StorageError(ServiceError):
    """The blob store failed (unreachable, full, permission denied)."""


class StorageUnavailableError(StorageError):
    """The blob store cannot be reached or written right now; the operation may succeed later."""


class ObjectNotFoundError(StorageError):
    """No object is stored under the key."""


class InvalidStorageKeyError(StorageError):
    """A storage key is malformed or would escape the store's root."""


class IntegrityError(ServiceError):
    """A stored object decrypted, but does not match the checksum recorded when it was stored."""
