"""Alembic environment: the URL comes from the caller (`hotline db upgrade`) or the settings."""

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from service.db import UTCDateTime, all_metadata, make_engine
from service.settings import Settings

config = context.config
target_metadata = all_metadata()


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Migrations spell plain SQLAlchemy types, so they never import application code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """APScheduler keeps its job store in our database, in a table it manages itself."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode recreates tables safely.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    url = config.attributes.get("database_url") or Settings().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run `hotline db upgrade`.")
run_migrations_online()
