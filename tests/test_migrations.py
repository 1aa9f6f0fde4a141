"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from cli import ALEMBIC_DIR
from service.db import all_metadata, make_engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["database_url"] = url
    return config


def test_migrations_match_models_and_reverse(empty_database_url: str) -> None:
    command.upgrade(alembic_config(empty_database_url), "head")
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, all_metadata()) == []
            head = [tuple(r) for r in connection.execute(text("SELECT seq, hash FROM audit_chain_head"))]
            assert head == [(0, "0" * 64)]
        command.downgrade(alembic_config(empty_database_url), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(alembic_config(empty_database_url), "head")
        assert set(all_metadata().tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
