"""Envelope encryption of one object: AES-256-GCM with a per-object data key.

A sealed blob is `MAGIC || nonce (12 bytes) || ciphertext || tag (16 bytes)`. The associated data is the
canonical encoding of the object's identity (purpose, call, chunk, data key id), so a blob moved to another
row, another chunk number or another purpose fails authentication instead of decrypting to the wrong audio.
Only the library's AESGCM is used; no cipher construction of our own.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from compliance.errors import DecryptionError

MAGIC = b"HLR1"
NONCE_BYTES = 12
TAG_BYTES = 16
DATA_KEY_BYTES = 32
HEADER_BYTES = len(MAGIC) + NONCE_BYTES


@dataclass(frozen=True)
class ObjectIdentity:
    """What a sealed object is; bound into its ciphertext as associated data."""

    purpose: str
    call_id: str
    chunk_number: int | None = None
    data_key_id: int | None = None

    def associated_data(self) -> bytes:
        """The canonical bytes authenticated with the ciphertext."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    def describe(self) -> str:
        """A short name for messages (no caller data)."""
        chunk = "" if self.chunk_number is None else f" chunk {self.chunk_number}"
        return f"{self.purpose} of call {self.call_id}{chunk} (data key {self.data_key_id})"


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


def seal(data_key: bytes, identity: ObjectIdentity, plaintext: bytes) -> bytes:
    """Encrypt `plaintext` under `data_key` with a fresh random 96-bit nonce, bound to `identity`."""
    nonce = os.urandom(NONCE_BYTES)
    return MAGIC + nonce + AESGCM(data_key).encrypt(nonce, plaintext, identity.associated_data())


def unseal(data_key: bytes, identity: ObjectIdentity, blob: bytes) -> bytes:
    """Decrypt and authenticate a sealed blob, or raise `DecryptionError` naming the object."""
    if len(blob) < HEADER_BYTES + TAG_BYTES or not blob.startswith(MAGIC):
        msg = f"The stored {identity.describe()} is truncated or not a sealed object; it was not decrypted."
        raise DecryptionError(msg)
    nonce = blob[len(MAGIC) : HEADER_BYTES]
    try:
        return AESGCM(data_key).decrypt(nonce, blob[HEADER_BYTES:], identity.associated_data())
    except InvalidTag as exc:
        msg = (
            f"The stored {identity.describe()} failed authentication (wrong key, swapped, truncated or "
            "tampered); it was not decrypted."
        )
        raise DecryptionError(msg) from exc
