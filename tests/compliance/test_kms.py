"""Data keys wrapped by AWS KMS, against moto's server over HTTP."""

from __future__ import annotations

import boto3
import pytest
from mypy_boto3_kms import KMSClient

from compliance.crypto import new_data_key
from compliance.errors import KeyUnavailableError
from compliance.keys import KmsProvider


@pytest.fixture
def kms_key(moto_endpoint: str) -> tuple[KMSClient, str]:
    client = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    key_id = client.create_key(Description="hotline test KEK")["KeyMetadata"]["KeyId"]
    return client, key_id


def test_wrap_unwrap_round_trip(kms_key: tuple[KMSClient, str]) -> None:
    client, key_id = kms_key
    provider = KmsProvider(client, key_id)
    key = new_data_key()
    wrapped = provider.wrap(key, {"purpose": "recording", "object": "recording:c1:1"})
    assert wrapped.provider == "kms"
    assert wrapped.kek_id == key_id
    assert key not in wrapped.wrapped
    assert provider.unwrap(wrapped, {"purpose": "recording", "object": "recording:c1:1"}) == key


def test_wrong_encryption_context_is_refused(kms_key: tuple[KMSClient, str]) -> None:
    client, key_id = kms_key
    provider = KmsProvider(client, key_id)
    wrapped = provider.wrap(new_data_key(), {"purpose": "recording", "object": "recording:c1:1"})
    with pytest.raises(KeyUnavailableError, match="refused to unwrap"):
        provider.unwrap(wrapped, {"purpose": "recording", "object": "recording:c1:2"})


def test_unknown_key_is_a_clear_error(moto_endpoint: str) -> None:
    client = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    provider = KmsProvider(client, "11111111-2222-3333-4444-555555555555")
    with pytest.raises(KeyUnavailableError, match="refused to wrap"):
        provider.wrap(new_data_key(), {"purpose": "recording", "object": "x"})
