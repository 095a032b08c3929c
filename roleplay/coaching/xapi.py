"""Assessment results for an LMS: a CSV, and xAPI statements (one per attempt).

The statements follow the xAPI 1.0.3 shape: `actor` (an Agent with an account on this
site), `verb` (ADL's passed / failed, or completed without a pass mark), `object` (the
assessment activity of one scenario of one assignment), `result` (scaled and raw score,
success, completion) and `timestamp`.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from roleplay.coaching.models import Assignment, Attempt, passed
from roleplay.store import SessionInfo

ADL = "http://adlnet.gov/expapi/verbs/"
ACTIVITY = "http://adlnet.gov/expapi/activities/assessment"


class Result(BaseModel):
    """One attempt's outcome."""

    model_config = ConfigDict(extra="forbid")

    assignment_id: int
    session_id: str
    trainee: str
    scenario: str
    started_at: datetime
    ended_at: datetime | None
    score: float | None
    pass_mark: float | None
    passed: bool | None
    released: bool


def results(assignments: Sequence[Assignment], attempts: Sequence[Attempt],
            sessions: dict[str, SessionInfo]) -> list[Result]:
    """Every attempt of an assessment with its session's score, in order of start."""
    marks = {a.id: a.pass_mark for a in assignments}
    out = []
    for t in attempts:
        info = sessions.get(t.session_id)
        if info is None:
            continue
        out.append(Result(assignment_id=t.assignment_id, session_id=t.session_id,
                          trainee=t.user, scenario=t.scenario, started_at=info.started_at,
                          ended_at=info.ended_at, score=info.score,
                          pass_mark=marks.get(t.assignment_id),
                          passed=passed(info.score, marks.get(t.assignment_id)),
                          released=t.released))
    return sorted(out, key=lambda r: r.started_at)


def results_csv(rows: Sequence[Result]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["assignment", "trainee", "scenario", "session", "started_at", "ended_at",
                     "score", "pass_mark", "result", "released"])
    for r in rows:
        outcome = "" if r.passed is None else "pass" if r.passed else "fail"
        writer.writerow([r.assignment_id, r.trainee, r.scenario, r.session_id,
                         r.started_at.isoformat(), r.ended_at.isoformat() if r.ended_at else "",
                         "" if r.score is None else f"{r.score:.1f}",
                         "" if r.pass_mark is None else f"{r.pass_mark:g}", outcome,
                         "yes" if r.released else "no"])
    return out.getvalue()



def statement(result: Result, home_page: str) -> dict[str, object]:
    """The xAPI statement of one attempt (`home_page`: this site's address, the accounts'
    namespace). An unscored or unfinished attempt is `attempted`, with no result score."""
    verb = ("attempted" if result.score is None or result.ended_at is None
            else "completed" if result.passed is None else "passed" if result.passed
            else "failed")
    activity = f"{home_page.rstrip('/')}/assignments/{result.assignment_id}/{result.scenario}"
    out: dict[str, object] = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{activity}#{result.session_id}")),
        "actor": {"objectType": "Agent", "name": result.trainee,
                  "account": {"homePage": home_page, "name": result.trainee}},
        "verb": {"id": ADL + verb, "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": activity,
                   "definition": {"type": ACTIVITY,
                                  "name": {"en-US": f"Roleplay assessment: {result.scenario}"}}},
        "timestamp": (result.ended_at or result.started_at).isoformat(),
    }
    if verb != "attempted" and result.score is not None:
        res: dict[str, object] = {
            "score": {"scaled": round(result.score / 100, 4), "raw": round(result.score, 2),
                      "min": 0, "max": 100},
            "completion": True}
        if result.passed is not None:
            res["success"] = result.passed
        out["result"] = res
    return out


def statements(rows: Sequence[Result], home_page: str) -> list[dict[str, object]]:
    return [statement(r, home_page) for r in rows]
