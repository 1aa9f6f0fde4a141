"""Key-encryption keys: one `KeyProvider` interface, a local keyring file and AWS KMS behind it."""

from compliance.keys.base import KeyProvider, WrappedKey
from compliance.keys.keyring import Keyring, KeyringProvider
from compliance.keys.kms import KmsProvider

__all__ = ["KeyProvider", "Keyring", "KeyringProvider", "KmsProvider", "WrappedKey"]
