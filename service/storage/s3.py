"""Blobs as objects in an S3 (or S3-compatible) bucket under a prefix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.errors import ObjectNotFoundError, StorageUnavailableError
from service.settings import Settings
from service.storage.base import Tier, validate_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}


def make_s3_client(settings: Settings) -> S3Client:
    """An S3 client for the configured endpoint, with bounded timeouts and retries."""
    config = Config(
        connect_timeout=5,
        read_timeout=20,
        retries={"max_attempts": 3, "mode": "standard"},
        region_name=settings.aws_region,
    )
    return boto3.client("s3", endpoint_url=settings.s3_endpoint_url, config=config)


class S3Store:
    """A `BlobStore` on S3; the archive tier is written with its own storage class."""

    def __init__(self, client: S3Client, bucket: str, prefix: str, archive_storage_class: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.archive_storage_class = archive_storage_class
        self.description = f"s3://{bucket}/{prefix}"

    def _key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def put(self, key: str, data: bytes, *, tier: Tier = "hot") -> None:
        """PUT with a SHA-256 checksum the server verifies before it accepts the object."""
        extra: dict[str, Any] = {}
        if tier == "archive":
            extra["StorageClass"] = self.archive_storage_class
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ChecksumAlgorithm="SHA256", **extra
            )
        except (ClientError, BotoCoreError) as exc:
            msg = f"Cannot write {key} to {self.description}: {_reason(exc)}."
            raise StorageUnavailableError(msg) from exc

    def get(self, key: str) -> bytes:
        """GET the object; botocore checks the stored checksum against the body it receives."""
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self._key(key), ChecksumMode="ENABLED")
            return reply["Body"].read()
        except ClientError as exc:
            if _reason(exc) in _NOT_FOUND:
                msg = f"No object {key} in {self.description}."
                raise ObjectNotFoundError(msg) from exc
            msg = f"Cannot read {key} from {self.description}: {_reason(exc)}."
            raise StorageUnavailableError(msg) from exc
        except BotoCoreError as exc:
            msg = f"Cannot read {key} from {self.description}: {_reason(exc)}."
            raise StorageUnavailableError(msg) from exc

    def delete(self, key: str) -> bool:
        """DELETE the object (S3 answers the same whether or not it existed, so look first)."""
        existed = self.exists(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            msg = f"Cannot delete {key} from {self.description}: {_reason(exc)}."
            raise StorageUnavailableError(msg) from exc
        return existed

    def exists(self, key: str) -> bool:
        """HEAD the object."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _reason(exc) in _NOT_FOUND:
                return False
            msg = f"Cannot look up {key} in {self.description}: {_reason(exc)}."
            raise StorageUnavailableError(msg) from exc
        except BotoCoreError as exc:
            msg = f"Cannot look up {key} in {self.description}: {_reason(exc)}."
            raise StorageUnavailableError(msg) from exc
        return True

    def check(self) -> None:
        """HEAD the bucket."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            msg = f"The store {self.description} is unreachable: {_reason(exc)}."
            raise StorageUnavailableError(msg) from exc


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "error"))
    return type(exc).__name__
