"""Alembic environment: always given a live connection by :func:`watchhouse.storage.migrate.upgrade`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through watchhouse.storage.migrate.upgrade, which passes a connection")

if connection.dialect.name == "postgresql":
    # Two processes opening a fresh database at once must not both create the same tables.
    connection.execute(text("SELECT pg_advisory_xact_lock(7238450211)"))

context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
