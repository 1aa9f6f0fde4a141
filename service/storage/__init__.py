"""Blob storage: one `BlobStore` interface, a local-filesystem and an S3 implementation."""

from __future__ import annotations

from urllib.parse import urlsplit

from service.settings import Settings
from service.storage.base import BlobStore, Tier, validate_key
from service.storage.local import LocalStore
from service.storage.s3 import S3Store, make_s3_client

__all__ = ["BlobStore", "LocalStore", "S3Store", "Tier", "open_store", "validate_key"]


def open_store(settings: Settings) -> BlobStore:
    """The store named by `HOTLINE_STORAGE_URL`."""
    parts = urlsplit(settings.storage_url)
    if parts.scheme == "s3":
        client = make_s3_client(settings)
        return S3Store(client, parts.netloc, parts.path.strip("/"), settings.s3_archive_storage_class)
    return LocalStore(settings.storage_url[len("file://") :])
