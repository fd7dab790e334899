"""Bringing a database to the current schema with the Alembic migrations shipped in
``migrations/`` (no alembic.ini needed). Several app processes starting at once on
PostgreSQL take turns through an advisory lock; on SQLite through the write lock, taken
when the migration's transaction begins."""

from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.engine import Engine

__all__ = ["upgrade", "current_revision", "head_revision"]

_HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")
#: pg_advisory_lock key: "WATT" in ASCII.
_LOCK_KEY = 0x57415454


def _config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", _HERE)
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Apply the missing migrations; return the revision the database is at."""
    from alembic import command

    cfg = _config()
    with engine.execution_options(sqlite_immediate=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revision(engine)
