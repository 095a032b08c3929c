"""The coaching tables, on the store's schema (`roleplay.store.schema.metadata`), so one
database and one migration history hold everything; made by the Alembic migration
`0003_coaching` (roleplay/store/migrations/versions/) and, on a new database, with the rest
of the schema. Times are ISO 8601 text like the store's own.

Nothing here is updated in place except an attempt's release: a coach's change of a
principle is a new row, so the whole history (who, when, from, to, why) stays.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Float, ForeignKey, Index, Integer, Table, Text

from roleplay.store.schema import IsoDateTime, metadata

overrides = Table(
    "coach_overrides", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Text, ForeignKey("sessions.session_id"), nullable=False),
    Column("principle", Text, nullable=False),
    Column("by_user", Text, nullable=False),
    Column("at", IsoDateTime, nullable=False),
    Column("from_status", Text, nullable=False),
    Column("to_status", Text, nullable=False),
    Column("comment", Text, nullable=False),
    Index("coach_overrides_by_session", "session_id"),
)
"""Every change of a principle's status by a coach, in order."""

turn_comments = Table(
    "coach_turn_comments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Text, ForeignKey("sessions.session_id"), nullable=False),
    Column("turn", Integer, nullable=False),
    Column("by_user", Text, nullable=False),
    Column("at", IsoDateTime, nullable=False),
    Column("text", Text, nullable=False),
    Index("coach_turn_comments_by_session", "session_id"),
)

assignments = Table(
    "assignments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scenarios", Text, nullable=False),  # JSON list of persona ids
    Column("trainees", Text, nullable=False),  # JSON list of names; [] is everyone
    Column("due", Date),
    Column("pass_mark", Float),
    Column("assessment", Boolean(create_constraint=False), nullable=False),
    Column("release_at_once", Boolean(create_constraint=False), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", IsoDateTime, nullable=False),
)

attempts = Table(
    "assessment_attempts", metadata,
    Column("session_id", Text, ForeignKey("sessions.session_id"), primary_key=True),
    Column("assignment_id", Integer, ForeignKey("assignments.id"), nullable=False),
    Column("user", Text, nullable=False),
    Column("scenario", Text, nullable=False),
    Column("released", Boolean(create_constraint=False), nullable=False),
    Column("released_by", Text),
    Column("released_at", IsoDateTime),
)
"""One row per assessment call; `released` once the trainee may see the result."""

TABLES = (overrides, turn_comments, assignments, attempts)
