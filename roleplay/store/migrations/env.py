"""Alembic's entry point: migrate the connection roleplay.store.migrate hands over.

Run only through roleplay (`roleplay db upgrade`, or a store opening a database), which
passes an open connection inside a transaction; nothing here reads alembic.ini or logs.
"""

from __future__ import annotations

from alembic import context

from roleplay.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `roleplay db upgrade`, not the alembic command")
# Batch mode lets a later migration alter or drop a column on SQLite (it copies the table).
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
