"""Database engine, session factory and the declarative base every model module shares.

Plain `sqlite:///path` and `postgresql://user@host/db` URLs are accepted as users write them;
the drivers are chosen here.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    Integer,
    MetaData,
    TypeDecorator,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from service.errors import ServiceError

# Stable constraint names, so migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


# Every module that declares tables; Alembic sees only what is imported.
MODEL_MODULES = ("compliance.models", "service.models", "jobs.models")


class Base(DeclarativeBase):
    """Declarative base of every table of the project."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DatabaseUnavailableError(ServiceError):
    """The database named by the settings cannot be reached."""


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given to a UTC column; pass an aware datetime"
            raise ValueError(msg)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """Now, in UTC, at the microsecond precision both backends keep."""
    return dt.datetime.now(dt.UTC)


def normalize_url(url: str) -> str:
    """Pick the project's driver for a plain SQLAlchemy URL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def redact_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


READ_ONLY = "hotline_read_only"


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling begins lazily and upgrades read locks to write locks, which fails
    # under concurrent writers; writers take the write lock up front instead (BEGIN IMMEDIATE). Threads of
    # this process queue on a lock first, so they hand the database over at once instead of sleeping in
    # SQLite's busy handler; other processes (CLI, jobs) still wait through busy_timeout.
    write_lock = threading.Lock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # a WAL snapshot: readers never block writers
            return
        if not write_lock.acquire(timeout=30):
            msg = "Timed out waiting for the SQLite write lock."
            raise DatabaseUnavailableError(msg)
        connection.info["hotline_write_lock"] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(connection)
            raise

    def _release(connection: Any) -> None:
        if connection.info.pop("hotline_write_lock", False):
            write_lock.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


def _create_private_file(path: Path) -> None:
    # The database holds wrapped data keys and sealed caller numbers: 0600, like the keyring.
    # SQLite gives its -wal and -shm files the database file's permissions.
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def make_engine(url: str) -> Engine:
    """An engine for `url`, creating the SQLite file's directory when needed."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private_file(Path(parsed.database))
        # Writers queue on the write lock while holding a connection; a pool as large as the worker-thread
        # pool keeps readers from waiting behind them for a connection.
        engine = create_engine(parsed, connect_args={"timeout": 30}, pool_size=40, max_overflow=10)
        _configure_sqlite(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def check_connection(engine: Engine) -> None:
    """Raise `DatabaseUnavailableError` naming the URL (without password) if the database is unreachable."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        msg = f"Cannot reach the database at {redact_url(str(engine.url))}: {exc.orig}".splitlines()[0]
        raise DatabaseUnavailableError(msg) from exc


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (the call loop reads them afterwards)."""
    return sessionmaker(engine, expire_on_commit=False)


def make_reader_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading only: on SQLite they take no write lock, so polling never delays a writer."""
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def all_metadata() -> MetaData:
    """The metadata with every model module imported (for Alembic and tests)."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
