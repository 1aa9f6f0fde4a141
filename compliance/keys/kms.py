"""AWS KMS as the key-encryption key: data keys are wrapped by `Encrypt` with an encryption context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from compliance.errors import KeyUnavailableError
from compliance.keys.base import WrappedKey

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

PROVIDER_NAME = "kms"


class KmsProvider:
    """Wrap and unwrap data keys with one KMS key; rotation of that key is KMS's own."""

    name = PROVIDER_NAME

    def __init__(self, client: KMSClient, key_id: str) -> None:
        self.client = client
        self.key_id = key_id

    def wrap(self, data_key: bytes, context: Mapping[str, str]) -> WrappedKey:
        """Encrypt the data key under the configured KMS key, bound to `context`."""
        try:
            reply = self.client.encrypt(KeyId=self.key_id, Plaintext=data_key, EncryptionContext=dict(context))
        except (ClientError, BotoCoreError) as exc:
            msg = f"KMS key {self.key_id} refused to wrap a data key: {_reason(exc)}."
            raise KeyUnavailableError(msg) from exc
        return WrappedKey(PROVIDER_NAME, self.key_id, None, reply["CiphertextBlob"])

    def unwrap(self, wrapped: WrappedKey, context: Mapping[str, str]) -> bytes:
        """Decrypt the data key; KMS checks the encryption context."""
        try:
            reply = self.client.decrypt(
                CiphertextBlob=wrapped.wrapped, KeyId=wrapped.kek_id, EncryptionContext=dict(context)
            )
        except (ClientError, BotoCoreError) as exc:
            msg = f"KMS key {wrapped.kek_id} refused to unwrap a data key: {_reason(exc)}."
            raise KeyUnavailableError(msg) from exc
        return reply["Plaintext"]


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "error"))
    return type(exc).__name__
