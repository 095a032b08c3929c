"""Where coaching is kept: reviews (every change), turn comments, assignments, attempts.

SQLAlchemy Core tables beside the transcript store's, in the same database. Nothing is
ever updated in place except an attempt's release: a coach's change of a principle is a
new row, so the whole history (who, when, from, to, why) stays.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from roleplay.coaching.models import Assignment, Attempt, Override, Review, TurnComment
from roleplay.errors import StoreError
from roleplay.transcript import utcnow

METADATA = sa.MetaData()

overrides = sa.Table(
    "coach_overrides", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
    sa.Column("principle", sa.String(128), nullable=False),
    sa.Column("by_user", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("from_status", sa.String(16), nullable=False),
    sa.Column("to_status", sa.String(16), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
)
turn_comments = sa.Table(
    "coach_turn_comments", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
    sa.Column("turn", sa.Integer, nullable=False),
    sa.Column("by_user", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)
assignments = sa.Table(
    "assignments", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scenarios", sa.Text, nullable=False),
    sa.Column("trainees", sa.Text, nullable=False),
    sa.Column("due", sa.Date),
    sa.Column("pass_mark", sa.Float),
    sa.Column("assessment", sa.Boolean, nullable=False),
    sa.Column("release_at_once", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
attempts = sa.Table(
    "assessment_attempts", METADATA,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("assignment_id", sa.Integer, sa.ForeignKey("assignments.id"), nullable=False),
    sa.Column("user", sa.String(64), nullable=False),
    sa.Column("scenario", sa.String(128), nullable=False),
    sa.Column("released", sa.Boolean, nullable=False),
    sa.Column("released_by", sa.String(64)),
    sa.Column("released_at", sa.DateTime),
)


def _naive(at: datetime) -> datetime:
    # Kept as naive UTC: SQLite's DateTime has no zone, PostgreSQL's plain timestamp neither.
    return at.astimezone(UTC).replace(tzinfo=None)


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC)


def _maybe(at: datetime | None) -> datetime | None:
    return _aware(at) if at is not None else None


class CoachingStore:
    """Reviews, assignments and attempts on an SQLAlchemy engine."""

    def __init__(self, engine: sa.Engine, create: bool = True):
        self.engine = engine
        if create:
            try:
                METADATA.create_all(engine)
            except SQLAlchemyError as err:
                raise StoreError(f"cannot open the coaching tables: {err}") from err

    @classmethod
    def beside(cls, store: Any) -> CoachingStore:
        """The coaching tables in the same database as the transcript store `store`."""
        engine = getattr(store, "engine", None)
        if isinstance(engine, sa.Engine):
            return cls(engine)
        path = Path(getattr(store, "path", ":memory:"))
        url = "sqlite://" if str(path) == ":memory:" else f"sqlite:///{path}"
        return cls(sa.create_engine(url, connect_args={"check_same_thread": False}))

    def _write(self, statement: Any) -> Any:
        try:
            with self.engine.begin() as db:
                return db.execute(statement)
        except SQLAlchemyError as err:
            raise StoreError(f"coaching store: {err}") from err

    def _read(self, statement: Any) -> list[Any]:
        try:
            with self.engine.connect() as db:
                return list(db.execute(statement).mappings())
        except SQLAlchemyError as err:
            raise StoreError(f"coaching store: {err}") from err

    # --- reviews -------------------------------------------------------------------------

    def add_override(self, change: Override) -> None:
        self._write(overrides.insert().values(
            session_id=change.session_id, principle=change.principle, by_user=change.by,
            at=_naive(change.at), from_status=change.from_status, to_status=change.to_status,
            comment=change.comment))

    def add_comment(self, comment: TurnComment) -> None:
        self._write(turn_comments.insert().values(
            session_id=comment.session_id, turn=comment.turn, by_user=comment.by,
            at=_naive(comment.at), text=comment.text))

    def review(self, session_id: str) -> Review:
        return self.reviews([session_id]).get(session_id, Review(session_id=session_id))

    def reviews(self, session_ids: list[str] | None = None) -> dict[str, Review]:
        """The reviews of `session_ids` (every reviewed call when None), by session."""
        o, c = overrides.select().order_by(overrides.c.id), \
            turn_comments.select().order_by(turn_comments.c.turn, turn_comments.c.id)
        if session_ids is not None:
            o = o.where(overrides.c.session_id.in_(session_ids))
            c = c.where(turn_comments.c.session_id.in_(session_ids))
        out: dict[str, Review] = {}
        for r in self._read(o):
            out.setdefault(r["session_id"], Review(session_id=r["session_id"])).changes.append(
                Override(session_id=r["session_id"], principle=r["principle"], by=r["by_user"],
                         at=_aware(r["at"]), from_status=r["from_status"],
                         to_status=r["to_status"], comment=r["comment"]))
        for r in self._read(c):
            out.setdefault(r["session_id"], Review(session_id=r["session_id"])).comments.append(
                TurnComment(session_id=r["session_id"], turn=r["turn"], by=r["by_user"],
                            at=_aware(r["at"]), text=r["text"]))
        return out

    # --- assignments ---------------------------------------------------------------------

    def add_assignment(self, assignment: Assignment) -> Assignment:
        result = self._write(assignments.insert().values(
            scenarios=json.dumps(assignment.scenarios), trainees=json.dumps(assignment.trainees),
            due=assignment.due, pass_mark=assignment.pass_mark,
            assessment=assignment.assessment, release_at_once=assignment.release_at_once,
            created_by=assignment.created_by, created_at=_naive(assignment.created_at)))
        return assignment.model_copy(update={"id": int(result.inserted_primary_key[0])})

    def assignments(self) -> list[Assignment]:
        """Every assignment, oldest first."""
        rows = self._read(assignments.select().order_by(assignments.c.id))
        return [Assignment(id=r["id"], scenarios=json.loads(r["scenarios"]),
                           trainees=json.loads(r["trainees"]), due=_date(r["due"]),
                           pass_mark=r["pass_mark"], assessment=r["assessment"],
                           release_at_once=r["release_at_once"], created_by=r["created_by"],
                           created_at=_aware(r["created_at"]))
                for r in rows]

    def assignment(self, assignment_id: int) -> Assignment:
        for a in self.assignments():
            if a.id == assignment_id:
                return a
        raise StoreError(f"no assignment {assignment_id}")

    # --- attempts ------------------------------------------------------------------------

    def add_attempt(self, attempt: Attempt) -> None:
        self._write(attempts.insert().values(**attempt.model_dump()))

    def attempts(self, assignment_id: int | None = None) -> list[Attempt]:
        query = attempts.select()
        if assignment_id is not None:
            query = query.where(attempts.c.assignment_id == assignment_id)
        return [Attempt(**{**r, "released_at": _maybe(r["released_at"])})
                for r in self._read(query)]

    def attempt(self, session_id: str) -> Attempt | None:
        rows = self._read(attempts.select().where(attempts.c.session_id == session_id))
        return Attempt(**{**rows[0], "released_at": _maybe(rows[0]["released_at"])}) \
            if rows else None

    def release(self, session_id: str, by: str) -> None:
        self._write(attempts.update().where(attempts.c.session_id == session_id).values(
            released=True, released_by=by, released_at=_naive(utcnow())))


def _date(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value
