"""The local keyring file: versioned key-encryption keys, the audit signing key and the pseudonym pepper.

The file is JSON, mode 0600, replaced atomically on every change. It is never stored in the database, so a
database dump alone neither unwraps data keys nor forges audit checkpoints.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from compliance.errors import KeyringError, KeyringMissingError, KeyUnavailableError
from compliance.files import write_secret_file
from compliance.keys.base import WrappedKey

FORMAT = 1
PROVIDER_NAME = "keyring"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


@dataclass
class KekVersion:
    """One version of the key-encryption key."""

    version: int
    material: bytes
    created_at: str
    retired_at: str | None = None


@dataclass
class Keyring:
    """The parsed keyring file."""

    path: Path
    keyring_id: str
    keks: list[KekVersion]
    active_version: int
    signing_key: Ed25519PrivateKey
    signing_key_id: str
    pepper: bytes
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, path: Path) -> Keyring:
        """Create a new keyring file; refuses to overwrite one (that would orphan every data key)."""
        if path.exists():
            msg = f"A keyring already exists at {path}; refusing to overwrite it."
            raise KeyringError(msg)
        keyring_id = uuid.uuid4().hex[:12]
        ring = cls(
            path=path,
            keyring_id=keyring_id,
            keks=[KekVersion(1, os.urandom(32), _now())],
            active_version=1,
            signing_key=Ed25519PrivateKey.generate(),
            signing_key_id=f"ed25519:{keyring_id}:1",
            pepper=os.urandom(32),
        )
        ring.save()
        return ring

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Read and check the keyring file."""
        if not path.exists():
            msg = f"No keyring at {path}. Run `hotline keys init` to create one."
            raise KeyringMissingError(msg)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            msg = f"The keyring {path} is accessible to other users (mode {mode:04o}); run `chmod 600 {path}`."
            raise KeyringError(msg)
        try:
            doc = json.loads(path.read_text())
            if doc.get("format") != FORMAT:
                msg = f"The keyring {path} has an unknown format {doc.get('format')!r}."
                raise KeyringError(msg)
            signing = serialization.load_der_private_key(_unb64(doc["signing_key"]["private"]), None)
            if not isinstance(signing, Ed25519PrivateKey):
                msg = f"The keyring {path} holds a signing key that is not Ed25519."
                raise KeyringError(msg)
            return cls(
                path=path,
                keyring_id=doc["keyring_id"],
                keks=[
                    KekVersion(k["version"], _unb64(k["key"]), k["created_at"], k.get("retired_at"))
                    for k in doc["keks"]
                ],
                active_version=doc["active_version"],
                signing_key=signing,
                signing_key_id=doc["signing_key"]["id"],
                pepper=_unb64(doc["pepper"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"The keyring {path} is damaged ({type(exc).__name__}); restore it from your key backup."
            raise KeyringError(msg) from exc

    def save(self) -> None:
        """Write the keyring back (atomically, mode 0600)."""
        doc = {
            "format": FORMAT,
            "keyring_id": self.keyring_id,
            "active_version": self.active_version,
            "keks": [
                {"version": k.version, "key": _b64(k.material), "created_at": k.created_at, "retired_at": k.retired_at}
                for k in self.keks
            ],
            "signing_key": {
                "id": self.signing_key_id,
                "private": _b64(
                    self.signing_key.private_bytes(
                        serialization.Encoding.DER,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                ),
            },
            "pepper": _b64(self.pepper),
        }
        write_secret_file(self.path, json.dumps(doc, indent=2).encode())

    @property
    def kek_id(self) -> str:
        """The identifier recorded with every data key this keyring wraps."""
        return f"{PROVIDER_NAME}:{self.keyring_id}"

    def version(self, number: int) -> KekVersion:
        """A key version, or `KeyUnavailableError` if unknown."""
        for kek in self.keks:
            if kek.version == number:
                return kek
        msg = f"Key-encryption key version {number} is not in the keyring {self.path}."
        raise KeyUnavailableError(msg)

    def subkey(self, purpose: bytes) -> bytes:
        """A 256-bit key for one named purpose, derived (HKDF-SHA256) from the keyring's secret pepper."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(self.pepper)

    def add_version(self) -> KekVersion:
        """Add a new key version and make it the one new data keys are wrapped with; saves the file."""
        kek = KekVersion(max(k.version for k in self.keks) + 1, os.urandom(32), _now())
        self.keks.append(kek)
        self.active_version = kek.version
        self.save()
        return kek

    def retire(self, number: int) -> None:
        """Retire a key version so it no longer unwraps anything; saves the file."""
        if number == self.active_version:
            msg = f"Key version {number} is the active one; rotate first, then retire it."
            raise KeyringError(msg)
        kek = self.version(number)
        kek.retired_at = kek.retired_at or _now()
        self.save()


class KeyringProvider:
    """Wraps data keys with AES key wrap (RFC 3394) under the keyring's active version."""

    name = PROVIDER_NAME

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def wrap(self, data_key: bytes, context: Mapping[str, str]) -> WrappedKey:
        """Wrap under the active version."""
        kek = self.keyring.version(self.keyring.active_version)
        return WrappedKey(PROVIDER_NAME, self.keyring.kek_id, kek.version, aes_key_wrap(kek.material, data_key))

    def unwrap(self, wrapped: WrappedKey, context: Mapping[str, str]) -> bytes:
        """Unwrap with the version that wrapped it, if this keyring has it and it is not retired."""
        if wrapped.kek_id != self.keyring.kek_id:
            msg = (
                f"This data key was wrapped by {wrapped.kek_id}, but the configured keyring is "
                f"{self.keyring.kek_id}; point HOTLINE_KEYRING at the right keyring."
            )
            raise KeyUnavailableError(msg)
        if wrapped.kek_version is None:
            msg = "This data key records no key version; it cannot be unwrapped by a keyring."
            raise KeyUnavailableError(msg)
        kek = self.keyring.version(wrapped.kek_version)
        if kek.retired_at is not None:
            msg = f"Key version {kek.version} was retired on {kek.retired_at}; it no longer unwraps data keys."
            raise KeyUnavailableError(msg)
        try:
            return aes_key_unwrap(kek.material, wrapped.wrapped)
        except InvalidUnwrap as exc:
            msg = f"The data key failed to unwrap under key version {kek.version}; it is damaged."
            raise KeyUnavailableError(msg) from exc


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
