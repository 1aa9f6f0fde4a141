"""Ed25519 signatures over canonical JSON, for audit checkpoints and deletion records."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def canonical_json(payload: dict[str, Any]) -> bytes:
    """One byte string per payload: sorted keys, no whitespace, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Signer:
    """Signs payloads with the keyring's Ed25519 key."""

    def __init__(self, key: Ed25519PrivateKey, key_id: str) -> None:
        self.key = key
        self.key_id = key_id

    def sign(self, payload: dict[str, Any]) -> str:
        """The base64 signature of the canonical payload."""
        return base64.b64encode(self.key.sign(canonical_json(payload))).decode()

    def verifier(self) -> Verifier:
        """The matching verifier."""
        return Verifier(self.key.public_key(), self.key_id)


class Verifier:
    """Checks signatures made by a `Signer`."""

    def __init__(self, key: Ed25519PublicKey, key_id: str) -> None:
        self.key = key
        self.key_id = key_id

    def is_valid(self, payload: dict[str, Any], signature: str) -> bool:
        """True when `signature` is this key's signature of `payload`."""
        try:
            self.key.verify(base64.b64decode(signature), canonical_json(payload))
        except (InvalidSignature, ValueError):
            return False
        return True
