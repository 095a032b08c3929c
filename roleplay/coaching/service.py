"""What a coach does, checked: review a call, comment on a turn, hand out assignments, and
how an assessment call differs from practice. The web app checks the role, then calls this."""

from __future__ import annotations

from datetime import date
from typing import get_args

from pydantic import ValidationError

from roleplay.coaching.dashboard import CallRecord, assignment_rows, load_calls
from roleplay.coaching.db import CoachingStore
from roleplay.coaching.models import Assignment, Attempt, CoachStatus, Override, Review, TurnComment
from roleplay.errors import RoleplayError
from roleplay.report import EvaluationReport
from roleplay.store import TranscriptStore

COACH_STATUSES: tuple[str, ...] = get_args(CoachStatus)


class CoachingError(RoleplayError):
    """A coaching action that cannot be done as asked; the message says why and what to do."""


def _first_problem(err: ValidationError) -> str:
    first = err.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


class Coaching:
    """Reviews, assignments and attempts over the transcript store and the coaching tables."""

    def __init__(self, store: TranscriptStore, db: CoachingStore):
        self.store = store
        self.db = db
        self._attempts: dict[str, Attempt | None] = {}
        """session id -> its attempt: the chat asks on every streamed token."""

    # --- reviews -------------------------------------------------------------------------

    def _report(self, session_id: str) -> EvaluationReport:
        report = self.store.load_report(session_id)
        if report is None:
            raise CoachingError("this call has no report yet; it can be reviewed once scored")
        return report

    def set_status(self, session_id: str, principle: str, status: str, comment: str,
                   by: str) -> Override:
        """Set the coach's status of one principle; the comment (why) is required."""
        report = self._report(session_id)
        ids = [p.id for p in report.principles]
        if principle not in ids:
            raise CoachingError(f"no principle {principle!r} in this call's report; "
                                f"pick one of {', '.join(ids)}")
        if status not in COACH_STATUSES:
            raise CoachingError(f"status {status!r}: use one of {', '.join(COACH_STATUSES)}")
        if not (comment or "").strip():
            raise CoachingError("say why in the comment: a changed status needs a reason")
        before = self.db.review(session_id).statuses(report)[principle]
        try:
            change = Override(session_id=session_id, principle=principle, by=by,
                              from_status=before,  # type: ignore[arg-type]
                              to_status=status, comment=comment)  # type: ignore[arg-type]
        except ValidationError as err:
            raise CoachingError(_first_problem(err)) from None
        self.db.add_override(change)
        return change

    def comment_turn(self, session_id: str, turn: int, text: str, by: str) -> TurnComment:
        """Add a coach's note on turn `turn` (0-based) of the call."""
        turns = self.store.load(session_id).turns
        if not 0 <= turn < len(turns):
            raise CoachingError(f"turn {turn + 1}: this call has turns 1 to {len(turns)}")
        try:
            comment = TurnComment(session_id=session_id, turn=turn, by=by, text=text)
        except ValidationError as err:
            raise CoachingError(_first_problem(err)) from None
        self.db.add_comment(comment)
        return comment

    def review(self, session_id: str) -> Review:
        return self.db.review(session_id)

    # --- assignments ---------------------------------------------------------------------

    def assign(self, scenarios: list[str], trainees: list[str], due: str, pass_mark: str,
               assessment: bool, release_at_once: bool, by: str,
               known_scenarios: list[str], known_trainees: list[str] | None) -> Assignment:
        """Create an assignment from the form's values; CoachingError names a bad field."""
        unknown = [s for s in scenarios if s not in known_scenarios]
        if not scenarios or unknown:
            raise CoachingError(f"scenarios: pick at least one of {', '.join(known_scenarios)}"
                                + (f" ({', '.join(unknown)} is not one)" if unknown else ""))
        if known_trainees is not None:
            strangers = [t for t in trainees if t not in known_trainees]
            if strangers:
                raise CoachingError(f"trainees: {', '.join(strangers)} is not in the users "
                                    "file; leave the field empty to assign to everyone")
        try:
            due_date = date.fromisoformat(due.strip()) if due.strip() else None
        except ValueError:
            raise CoachingError(f"due date {due!r}: write it as YYYY-MM-DD") from None
        try:
            mark = float(pass_mark) if str(pass_mark).strip() else None
            assignment = Assignment(scenarios=scenarios, trainees=trainees, due=due_date,
                                    pass_mark=mark, assessment=assessment,
                                    release_at_once=release_at_once, created_by=by)
        except ValueError as err:
            problem = _first_problem(err) if isinstance(err, ValidationError) else str(err)
            raise CoachingError(f"pass mark {pass_mark!r}: a number from 0 to 100 "
                                f"({problem})") from None
        if assessment and mark is None:
            raise CoachingError("an assessment needs a pass mark (0-100)")
        return self.db.add_assignment(assignment)

    def calls(self, user: str | None = None) -> list[CallRecord]:
        return load_calls(self.store, self.db, user)

    def open_assignments(self, name: str | None) -> list[tuple[Assignment, str]]:
        """`name`'s assignments not done yet, as (assignment, scenario), soonest due first."""
        if not name:
            return []
        assignments = [a for a in self.db.assignments() if a.for_trainee(name)]
        if not assignments:
            return []
        started = {(t.assignment_id, t.scenario) for t in self.db.attempts() if t.user == name}
        rows = assignment_rows(assignments, self.calls(name), [name])
        by_id = {a.id: a for a in assignments}
        open_ = [(by_id[r.assignment_id], r.scenario) for r in rows if r.state != "done"
                 and (r.assignment_id, r.scenario) not in started]
        return sorted(open_, key=lambda pair: (pair[0].due or date.max, pair[0].id or 0))

    # --- assessment ----------------------------------------------------------------------

    def begin(self, session_id: str, user: str, scenario: str) -> Attempt | None:
        """Record the call as the attempt of `user`'s open assessment of `scenario`, if any."""
        for assignment, assigned in self.open_assignments(user):
            if assignment.assessment and assigned == scenario and assignment.id is not None:
                attempt = Attempt(assignment_id=assignment.id, session_id=session_id,
                                  user=user, scenario=scenario,
                                  released=assignment.release_at_once)
                self.db.add_attempt(attempt)
                self._attempts[session_id] = attempt
                return attempt
        self._attempts[session_id] = None
        return None

    def attempt(self, session_id: str) -> Attempt | None:
        if session_id not in self._attempts:
            self._attempts[session_id] = self.db.attempt(session_id)
        return self._attempts[session_id]

    def release(self, session_id: str, by: str) -> None:
        if self.attempt(session_id) is None:
            raise CoachingError("this call is not an assessment attempt; its report is "
                                "the trainee's already")
        self.db.release(session_id, by)
        self._attempts.pop(session_id, None)
