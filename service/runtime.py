"""Everything a process needs, built once from the settings: database, keys, store, vault, signer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from compliance.datakeys import DataKeys
from compliance.keys import Keyring, KeyringProvider, KmsProvider
from compliance.keys.base import KeyProvider
from compliance.pseudonyms import Pseudonymizer
from compliance.signing import Signer
from service.db import make_engine, make_reader_factory, make_session_factory
from service.settings import Settings
from service.storage import BlobStore, open_store
from service.vault import Vault


@dataclass
class Runtime:
    """The wired parts of the application, passed to whatever needs them."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    readers: sessionmaker[Session]
    keyring: Keyring
    store: BlobStore
    vault: Vault
    signer: Signer
    pseudonyms: Pseudonymizer

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def make_key_provider(settings: Settings, keyring: Keyring) -> tuple[KeyProvider, dict[str, KeyProvider]]:
    """The provider that wraps new data keys, and the others that may still unwrap old ones."""
    local = KeyringProvider(keyring)
    if not settings.kms_key_id:
        return local, {}
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "kms",
        endpoint_url=settings.kms_endpoint_url or settings.s3_endpoint_url,
        config=Config(
            region_name=settings.aws_region,
            connect_timeout=5,
            read_timeout=10,
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )
    return KmsProvider(client, settings.kms_key_id), {local.name: local}


def build_runtime(settings: Settings) -> Runtime:
    """Wire the application; raises `KeyringMissingError` before touching anything if there is no keyring."""
    keyring = Keyring.load(settings.keyring)
    active, others = make_key_provider(settings, keyring)
    engine = make_engine(settings.database_url)
    store = open_store(settings)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        readers=make_reader_factory(engine),
        keyring=keyring,
        store=store,
        vault=Vault(store, DataKeys(active, others)),
        signer=Signer(keyring.signing_key, keyring.signing_key_id),
        pseudonyms=Pseudonymizer(keyring.pepper),
    )
