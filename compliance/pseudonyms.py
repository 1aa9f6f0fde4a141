"""Keyed pseudonyms of phone numbers.

A plain hash of a phone number is reversed by hashing every possible number, so pseudonyms are HMAC-SHA256
under keys derived (HKDF) from a secret pepper kept in the keyring. The lookup and the analytics pseudonyms
use different derived keys, so an analytics export cannot be joined back to operational data.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_LOOKUP_INFO = b"hotline-recorder caller lookup v1"
_ANALYTICS_INFO = b"hotline-recorder analytics v1"
_SEPARATORS = re.compile(r"[\s().\-/]")
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def normalize_number(raw: str) -> str:
    """E.164 when the input is a phone number; withheld or SIP callers keep a lower-cased form."""
    candidate = _SEPARATORS.sub("", raw.strip())
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    if _E164.fullmatch(candidate):
        return candidate
    return raw.strip().lower()


def _derive(pepper: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(pepper)


class Pseudonymizer:
    """HMAC pseudonyms for lookups and for analytics, from one pepper."""

    def __init__(self, pepper: bytes) -> None:
        self._lookup_key = _derive(pepper, _LOOKUP_INFO)
        self._analytics_key = _derive(pepper, _ANALYTICS_INFO)

    def lookup(self, number: str) -> str:
        """The operational pseudonym of a number (finds one caller's calls)."""
        return hmac.new(self._lookup_key, normalize_number(number).encode(), hashlib.sha256).hexdigest()

    def analytics(self, value: str) -> str:
        """The analytics pseudonym of an identifier; unlinkable to `lookup`."""
        return hmac.new(self._analytics_key, value.encode(), hashlib.sha256).hexdigest()
