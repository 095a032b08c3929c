"""Every table of the database, defined once for SQLite and PostgreSQL.

Adding a table or a column (another feature's data): define it here on `metadata`, and
write the Alembic migration that makes it in `roleplay/store/migrations/versions/` (its
`down_revision` is the current head; `roleplay db current` names it). A new database is
made from this metadata and stamped at the head, an existing one is upgraded by the
migrations, so both must agree: tests/unit/test_store_migrations.py compares them.

Times are kept as ISO 8601 text, as the first release did, so its SQLite files need no
rewrite; `IsoDateTime` turns them into aware datetimes and back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    TypeDecorator,
)


class IsoDateTime(TypeDecorator[datetime]):
    """A datetime stored as its ISO 8601 text (what the first release wrote)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return value.isoformat() if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return datetime.fromisoformat(value) if value else None


metadata = MetaData()

sessions = Table(
    "sessions", metadata,
    Column("session_id", Text, primary_key=True),
    Column("persona_id", Text, nullable=False),
    Column("user", Text),
    Column("model", Text),
    Column("started_at", IsoDateTime, nullable=False),
    Column("ended_at", IsoDateTime),
    Column("sandbox", Boolean(create_constraint=False), nullable=False, server_default="0"),
    Column("score", Float),
    Column("report", Text),  # the EvaluationReport's own JSON
    Column("browser", Text),
    Column("branch", Integer, nullable=False, server_default="0"),  # being played (branches.py)
    Index("sessions_by_user", "user", "started_at"),
)

turns = Table(
    "turns", metadata,
    Column("session_id", Text, ForeignKey("sessions.session_id"), primary_key=True),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("role", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("rung_before", Text),
    Column("rung_after", Text),
    Column("reason", Text),
    Column("created_at", IsoDateTime, nullable=False),
    Column("model", Text),
    Column("moves", Text),  # a trainee turn's appraised moves as JSON (appraisal.Move)
    # Branches (roleplay.store.branches): the turn this one follows, and its branch.
    Column("branch", Integer, nullable=False, server_default="0"),
    Column("parent", Integer),
    CheckConstraint("role IN ('customer', 'trainee')", name="turns_role"),
)

scoring_cache = Table(
    "scoring_cache", metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
"""The scorer's model answers by key (roleplay.scoring.ResultCache)."""

answering = Table(
    "answering", metadata,
    Column("session_id", Text, ForeignKey("sessions.session_id"), primary_key=True),
    Column("holder", Text, nullable=False),
    Column("until", Float, nullable=False),
)
"""Sessions whose customer is answering: one row per session, held by one request of one
process until `until` (epoch seconds), renewed while it runs (store.SqlStore.answering)."""

app_keys = Table(
    "app_keys", metadata,
    Column("name", Text, primary_key=True),
    Column("value", LargeBinary, nullable=False),
)
"""Secrets every app process shares, such as the cookie signing key."""

branches = Table(
    "branches", metadata,
    Column("session_id", Text, ForeignKey("sessions.session_id"), primary_key=True),
    Column("branch", Integer, primary_key=True, autoincrement=False),
    Column("parent_branch", Integer, nullable=False),
    Column("fork", Integer),  # idx of the turn the branch's first turn follows
    Column("from_turn", Integer, nullable=False),  # its position in the call's turns
    Column("origin", Text, nullable=False),  # rewind or replay
    Column("created_at", IsoDateTime, nullable=False),
    Column("score", Float),
    Column("report", Text),
)
"""Every branch of a call after the first (roleplay.store.branches)."""

login_failures = Table(
    "login_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False),  # user:<name> or address:<client address>
    Column("at", Float, nullable=False),  # epoch seconds
    Index("login_failures_by_key", "key", "at"),
)
"""Failed logins in the last window, every app process's (roleplay.store.logins)."""

login_locks = Table(
    "login_locks", metadata,
    Column("key", Text, primary_key=True),
    Column("until", Float, nullable=False),  # epoch seconds
)
"""User names and addresses locked out after too many failed logins, until `until`."""
