"""Where coaching is kept: reviews (every change), turn comments, assignments, attempts,
in the transcript store's database (the tables: roleplay.coaching.tables)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from roleplay.coaching.models import Assignment, Attempt, Override, Review, TurnComment
from roleplay.coaching.tables import TABLES, assignments, attempts, overrides, turn_comments
from roleplay.errors import StoreError
from roleplay.report import EvaluationReport
from roleplay.store.database import in_process, make_engine
from roleplay.store.schema import metadata, sessions
from roleplay.transcript import utcnow


class CoachingStore:
    """Reviews, assignments and attempts on an SQLAlchemy engine."""

    def __init__(self, engine: sa.Engine, create: bool = False):
        """On `engine`'s database, whose schema the store's migrations made; `create` makes
        the coaching tables first (an engine of its own, such as a test's)."""
        self.engine = engine
        self.apart = create
        """True when these tables are not in the transcript store's database (an in-memory
        store's, or a test's engine): the store's own tables cannot be read here."""
        if create:
            try:
                metadata.create_all(engine, tables=list(TABLES))
            except SQLAlchemyError as err:
                raise StoreError(f"cannot make the coaching tables: {err}") from err

    @classmethod
    def beside(cls, store: Any) -> CoachingStore:
        """The coaching tables in the database of the transcript store `store` (SqlStore:
        opening it ran the migrations). An in-memory SQLite store has no database a second
        engine could reach, so its coaching tables are a second in-memory database."""
        url = store.url
        return cls(make_engine(url), create=in_process(url))

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
            at=change.at, from_status=change.from_status, to_status=change.to_status,
            comment=change.comment))

    def add_comment(self, comment: TurnComment) -> None:
        self._write(turn_comments.insert().values(
            session_id=comment.session_id, turn=comment.turn, by_user=comment.by,
            at=comment.at, text=comment.text))

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
                         at=r["at"], from_status=r["from_status"],
                         to_status=r["to_status"], comment=r["comment"]))
        for r in self._read(c):
            out.setdefault(r["session_id"], Review(session_id=r["session_id"])).comments.append(
                TurnComment(session_id=r["session_id"], turn=r["turn"], by=r["by_user"],
                            at=r["at"], text=r["text"]))
        return out

    def reports(self, session_ids: list[str]) -> dict[str, EvaluationReport]:
        """The saved reports of `session_ids` in one query (the dashboard reads hundreds);
        a report that no longer validates is left out, as the store's own reader refuses it."""
        out: dict[str, EvaluationReport] = {}
        query = sa.select(sessions.c.session_id, sessions.c.report).where(
            sessions.c.session_id.in_(session_ids), sessions.c.report.is_not(None))
        for row in self._read(query):
            try:
                out[row["session_id"]] = EvaluationReport.model_validate_json(row["report"])
            except ValidationError:
                continue
        return out

    # --- assignments ---------------------------------------------------------------------

    def add_assignment(self, assignment: Assignment) -> Assignment:
        result = self._write(assignments.insert().values(
            scenarios=json.dumps(assignment.scenarios), trainees=json.dumps(assignment.trainees),
            due=assignment.due, pass_mark=assignment.pass_mark,
            assessment=assignment.assessment, release_at_once=assignment.release_at_once,
            created_by=assignment.created_by, created_at=assignment.created_at))
        return assignment.model_copy(update={"id": int(result.inserted_primary_key[0])})

    def assignments(self) -> list[Assignment]:
        """Every assignment, oldest first."""
        rows = self._read(assignments.select().order_by(assignments.c.id))
        return [Assignment(id=r["id"], scenarios=json.loads(r["scenarios"]),
                           trainees=json.loads(r["trainees"]), due=_date(r["due"]),
                           pass_mark=r["pass_mark"], assessment=r["assessment"],
                           release_at_once=r["release_at_once"], created_by=r["created_by"],
                           created_at=r["created_at"])
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
        return [Attempt(**r) for r in self._read(query)]

    def attempt(self, session_id: str) -> Attempt | None:
        rows = self._read(attempts.select().where(attempts.c.session_id == session_id))
        return Attempt(**rows[0]) if rows else None

    def release(self, session_id: str, by: str) -> None:
        self._write(attempts.update().where(attempts.c.session_id == session_id).values(
            released=True, released_by=by, released_at=utcnow()))


def _date(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value
