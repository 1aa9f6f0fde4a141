"""The exceptions of the compliance package; messages are full sentences that say what to do next."""

from __future__ import annotations


class ComplianceError(Exception):
    """Base of every error raised by the compliance package."""


class KeyringMissingError(ComplianceError):
    """No keyring file exists where the settings point."""


class KeyringError(ComplianceError):
    """The keyring file exists but cannot be used (bad format, bad permissions, unknown version)."""


class KeyUnavailableError(ComplianceError):
    """A data key cannot be unwrapped: destroyed, wrapped by another keyring, or the KMS refused."""


class DecryptionError(ComplianceError):
    """A sealed object failed authentication: wrong key, truncated, swapped, reordered or tampered."""


class AuditChainError(ComplianceError):
    """The audit log cannot be appended to (its chain head is missing or inconsistent)."""
