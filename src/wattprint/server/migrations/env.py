"""Alembic environment of the team server: migrations run on the connection that
:func:`wattprint.server._migrate.upgrade` hands over (no alembic.ini, no URL here)."""

from __future__ import annotations

from alembic import context

from wattprint.server._db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
