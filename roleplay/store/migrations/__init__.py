"""Alembic migrations of the store's schema (see roleplay.store.migrate)."""
