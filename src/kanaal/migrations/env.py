"""Alembic environment: runs on the connection handed over by kanaal.migrations.runner."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from kanaal.core.db import metadata
from kanaal.migrations.tables import load_all_tables

load_all_tables()
config = context.config


def run_migrations_online() -> None:
    """Migrate using the runner's connection, or a fresh engine from `sqlalchemy.url`."""
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.connect() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=getattr(connection, "dialect", None) is not None
        and connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
