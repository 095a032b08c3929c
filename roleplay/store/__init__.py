"""The transcript store: sessions and their turns, committed one turn at a time.

`TranscriptStore` (roleplay.store.protocol) is the interface the rest of the code uses;
`open_store(settings)` gives the configured one: PostgreSQL or SQLite by
`ROLEPLAY_DATABASE_URL`, else the SQLite file at `ROLEPLAY_DB`. Both are `SqlStore`
(roleplay.store.sql) on the tables of roleplay.store.schema, whose versions are Alembic
migrations (roleplay.store.migrate, `roleplay db upgrade`). A session's evaluation is
kept as the `EvaluationReport`'s own JSON and comes back as an `EvaluationReport`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roleplay.store.branches import BranchInfo
from roleplay.store.database import database_url
from roleplay.store.protocol import SessionBusy, SessionInfo, TranscriptStore
from roleplay.store.sql import SqliteStore, SqlStore

if TYPE_CHECKING:
    from roleplay.config import Settings

__all__ = ["BranchInfo", "SessionBusy", "SessionInfo", "SqlStore", "SqliteStore", "TranscriptStore",
           "open_store"]


def open_store(settings: Settings) -> SqlStore:
    """The configured store (see the module docstring), its schema upgraded on open."""
    if settings.database_url is None:
        return SqliteStore(settings.db_path)
    return SqlStore(database_url(settings))
