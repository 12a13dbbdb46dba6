"""Apply Alembic migrations (`kanaal migrate`) and draft new ones for a feature.

Each feature owns a branch of revisions (`branch_labels = ("<feature>",)`) that depends on the
core branch, so features can add tables independently; `upgrade` applies every head.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from kanaal.core.db import Database, metadata
from kanaal.migrations.tables import load_all_tables

HERE = Path(__file__).resolve().parent
VERSIONS = HERE / "versions"
_ADVISORY_LOCK = 7_140_2026


def alembic_config() -> Config:
    """Alembic configuration pointing at this package's scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(VERSIONS))
    return cfg


def upgrade(db: Database) -> None:
    """Bring the database to every branch head (safe to run from several workers at once)."""
    cfg = alembic_config()
    with db.engine.connect() as connection:
        if not db.is_sqlite:
            if db.schema:
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK})
            connection.commit()
        try:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "heads")
            connection.commit()
        finally:
            if not db.is_sqlite:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK})
                connection.commit()


def pending_differences(db: Database) -> list[Any]:
    """What the migrated database lacks compared to the tables in code (empty when in sync)."""
    from alembic.autogenerate import compare_metadata

    load_all_tables()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def _indent(code: str) -> str:
    lines = code.splitlines()
    return "\n".join(line if line.startswith("    ") else f"    {line}" for line in lines)


def draft(branch: str, tables: list[str], message: str) -> Path:
    """Write a new revision on `branch` creating/altering `tables` as the code defines them."""
    if not re.fullmatch(r"[a-z_]+", branch):
        raise ValueError("branch names are lower-case feature names")
    load_all_tables()
    script = ScriptDirectory.from_config(alembic_config())
    own = sorted(
        (rev for rev in script.walk_revisions() if rev.revision.startswith(f"{branch}_")),
        key=lambda rev: rev.revision,
    )
    number = len(own) + 1
    revision = f"{branch}_{number:04d}"
    wanted = set(tables)

    def include(obj: Any, name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
        table = obj if type_ == "table" else getattr(obj, "table", None)
        table_name = name if type_ == "table" else getattr(table, "name", None)
        return table_name in wanted

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/draft.db")
        upgrade(db)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": include, "compare_type": True}
            )
            ops = produce_migrations(context, metadata)
        db.dispose()
    assert ops.upgrade_ops is not None and ops.downgrade_ops is not None
    up = _indent(render_python_code(ops.upgrade_ops, migration_context=context))
    down = _indent(render_python_code(ops.downgrade_ops, migration_context=context))
    down_revision = own[-1].revision if own else None
    depends = None if branch == "core" or own else "core_0001"
    labels = None if own else (branch,)
    body = f'''"""{message}

Revision ID: {revision}
"""
import sqlalchemy as sa
from alembic import op

import kanaal.core.db

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = {labels!r}
depends_on = {depends!r}


def upgrade() -> None:
{up}


def downgrade() -> None:
{down}
'''
    path = VERSIONS / f"{revision}.py"
    path.write_text(body)
    return path
