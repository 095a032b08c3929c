"""The typed records of coaching: a coach's reviews, assignments and assessment attempts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from roleplay.report import EvaluationReport, Status
from roleplay.transcript import utcnow

CoachStatus = Literal["met", "partly", "violated", "not_applicable"]
"""What a coach may set a principle to (`unscored` is the machine's, never a verdict)."""


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("a comment is required: say why")
    return value


Said = Annotated[str, AfterValidator(_text), Field(min_length=1, max_length=2000)]
"""A coach's words: required, not only spaces, at most 2,000 characters."""


class Override(BaseModel):
    """One change of a principle's status by a coach: who, when, from, to, why.

    Every change is kept; the principle's current coach status is its latest change.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    session_id: str
    principle: str
    by: str
    at: datetime = Field(default_factory=utcnow)
    from_status: Status
    """The status before this change: the machine's, or the coach's earlier one."""
    to_status: CoachStatus
    comment: Said


class TurnComment(BaseModel):
    """A coach's note on one turn of a call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    session_id: str
    turn: int = Field(ge=0)
    """0-based index into the transcript's turns."""
    by: str
    at: datetime = Field(default_factory=utcnow)
    text: Said


class Review(BaseModel):
    """A call's coaching: every status change in order and the turn comments."""

    model_config = ConfigDict(extra="forbid")

    session_id: str
    changes: list[Override] = Field(default_factory=list)
    comments: list[TurnComment] = Field(default_factory=list)

    @property
    def current(self) -> dict[str, Override]:
        """The latest change of each principle a coach has set."""
        latest: dict[str, Override] = {}
        for change in self.changes:
            latest[change.principle] = change
        return latest

    @property
    def reviewed(self) -> bool:
        return bool(self.changes or self.comments)

    def statuses(self, report: EvaluationReport) -> dict[str, str]:
        """Each principle's status as the coach leaves it: theirs where set, else the machine's."""
        current = self.current
        return {p.id: current[p.id].to_status if p.id in current else p.status
                for p in report.principles}


class Assignment(BaseModel):
    """Scenarios a trainer hands to trainees (or to everyone), with a due date and pass mark."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = None
    scenarios: list[str] = Field(min_length=1)
    """Persona ids."""
    trainees: list[str] = Field(default_factory=list)
    """Names; empty means every trainee."""
    due: date | None = None
    pass_mark: float | None = Field(default=None, ge=0, le=100)
    assessment: bool = False
    """An assessment: no live mood reasons, no take-back, one attempt per scenario, the
    report shown once released (or at once with `release_at_once`), pass/fail."""
    release_at_once: bool = False
    created_by: str
    created_at: datetime = Field(default_factory=utcnow)

    def for_trainee(self, name: str | None) -> bool:
        return name is not None and (not self.trainees or name in self.trainees)


class Attempt(BaseModel):
    """One assessment call: the assignment and scenario it answers, and whether its result
    is released to the trainee."""

    model_config = ConfigDict(extra="forbid")

    assignment_id: int
    session_id: str
    user: str
    scenario: str
    released: bool = False
    released_by: str | None = None
    released_at: datetime | None = None


def passed(score: float | None, pass_mark: float | None) -> bool | None:
    """Pass/fail of a score against a pass mark; None when either is missing."""
    if score is None or pass_mark is None:
        return None
    return score >= pass_mark
