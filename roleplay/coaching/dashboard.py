"""The team dashboard, computed from stored calls: who practised, how they did, where they
struggle, per scenario, and the state of each assignment. Pure: the web view and the CSV
export render what `build_dashboard` returns."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from roleplay.coaching.db import CoachingStore
from roleplay.coaching.models import Assignment, Review, passed
from roleplay.errors import StoreError
from roleplay.mood import Rung
from roleplay.report import EvaluationReport
from roleplay.store import TranscriptStore

WEAK = ("violated", "partly")
"""The statuses a heatmap cell counts: the principle was not (fully) met."""
ASSESSED = ("met", "partly", "violated")


class CallRecord(BaseModel):
    """One ended, scored call as the dashboard sees it (coach's statuses where set)."""

    model_config = ConfigDict(extra="forbid")

    session_id: str
    user: str
    scenario: str
    language: str
    started_at: datetime
    score: float | None
    statuses: dict[str, str] = Field(default_factory=dict)
    titles: dict[str, str] = Field(default_factory=dict)
    start_rung: str | None = None
    end_rung: str | None = None
    reviewed: bool = False

    @property
    def escalated(self) -> bool | None:
        """Ended higher (angrier) on the ladder than it started; None without a mood path."""
        if self.start_rung is None or self.end_rung is None:
            return None
        return Rung(self.end_rung).level > Rung(self.start_rung).level


class Filters(BaseModel):
    """What the dashboard shows: a period (inclusive dates), one scenario, one language."""

    model_config = ConfigDict(extra="forbid")

    since: date | None = None
    until: date | None = None
    scenario: str | None = None
    language: str | None = None

    def keep(self, call: CallRecord) -> bool:
        day = call.started_at.date()
        return ((self.since is None or day >= self.since)
                and (self.until is None or day <= self.until)
                and (not self.scenario or call.scenario == self.scenario)
                and (not self.language or call.language == self.language))


class TraineeRow(BaseModel):
    name: str
    calls: int
    average: float | None
    trend: float | None
    """Average of the later half of the scored calls minus that of the earlier half."""


class HeatCell(BaseModel):
    trainee: str
    principle: str
    weak: list[str]
    """The calls (session ids) where the principle was violated or partly met."""
    assessed: int
    """The calls where it came up at all (met, partly or violated)."""

    @property
    def share(self) -> float | None:
        return len(self.weak) / self.assessed if self.assessed else None


class ScenarioRow(BaseModel):
    scenario: str
    calls: int
    average: float | None
    escalated_share: float | None
    """Share of the calls with a mood path that ended higher (angrier) than they started."""


AssignmentState = Literal["done", "not done", "overdue"]


class AssignmentRow(BaseModel):
    assignment_id: int
    trainee: str
    scenario: str
    due: date | None
    state: AssignmentState
    score: float | None = None
    passed: bool | None = None
    assessment: bool = False
    session_id: str | None = None


class Dashboard(BaseModel):
    trainees: list[TraineeRow]
    principles: list[str]
    titles: dict[str, str]
    heatmap: dict[str, dict[str, HeatCell]]
    """trainee -> principle -> cell."""
    scenarios: list[ScenarioRow]
    assignments: list[AssignmentRow]
    calls: list[CallRecord]
    languages: list[str] = Field(default_factory=list)
    """Every language of the stored calls, for the filter (not only the filtered ones)."""


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def trend(scores: Sequence[float]) -> float | None:
    """Later half's average minus the earlier half's (chronological); None under 2 calls."""
    if len(scores) < 2:
        return None
    half = len(scores) // 2
    early, late = _mean(scores[:half]), _mean(scores[len(scores) - half:])
    return None if early is None or late is None else late - early


def load_calls(store: TranscriptStore, coaching: CoachingStore,
               user: str | None = None) -> list[CallRecord]:
    """Every ended call of a named trainee (only `user`'s when given) with a report that
    loads; sandbox calls never."""
    sessions = [s for s in store.list_sessions(user=user)
                if s.ended_at and s.user and s.score is not None]
    ids = [s.session_id for s in sessions]
    reviews = coaching.reviews(ids)
    # One query for every report; one read each where the store's tables are elsewhere.
    reports = coaching.reports(ids) if not coaching.apart else _each(store, ids)
    calls = []
    for info in sessions:
        report = reports.get(info.session_id)
        if report is None:
            continue  # a report that no longer loads is shown in the call itself
        review = reviews.get(info.session_id, Review(session_id=info.session_id))
        path = report.mood_path or []
        calls.append(CallRecord(
            session_id=info.session_id, user=info.user or "", scenario=info.persona_id,
            language=report.language, started_at=info.started_at, score=report.overall_score,
            statuses=review.statuses(report), titles={p.id: p.title for p in report.principles},
            start_rung=path[0] if path else None, end_rung=path[-1] if path else None,
            reviewed=review.reviewed))
    return calls


def _each(store: TranscriptStore, ids: list[str]) -> dict[str, EvaluationReport]:
    out = {}
    for session_id in ids:
        try:
            report = store.load_report(session_id)
        except StoreError:
            continue
        if report is not None:
            out[session_id] = report
    return out


def build_dashboard(calls: Sequence[CallRecord], filters: Filters,
                    assignments: Sequence[Assignment] = (),
                    trainees: Sequence[str] = (), today: date | None = None) -> Dashboard:
    """The dashboard of `calls` under `filters`; `trainees` adds people with no call yet
    to the assignments (an assignment to everyone needs to know who everyone is)."""
    kept = sorted((c for c in calls if filters.keep(c)), key=lambda c: c.started_at)
    by_user: dict[str, list[CallRecord]] = {}
    for call in kept:
        by_user.setdefault(call.user, []).append(call)
    titles: dict[str, str] = {}
    for call in kept:
        titles.update(call.titles)
    principles = list(titles)
    rows, heat = [], {}
    for name in sorted(by_user):
        own = by_user[name]
        scores = [c.score for c in own if c.score is not None]
        rows.append(TraineeRow(name=name, calls=len(own), average=_mean(scores),
                               trend=trend(scores)))
        heat[name] = {p: HeatCell(
            trainee=name, principle=p,
            weak=[c.session_id for c in own if c.statuses.get(p) in WEAK],
            assessed=sum(1 for c in own if c.statuses.get(p) in ASSESSED)) for p in principles}
    scenarios = []
    for scenario in sorted({c.scenario for c in kept}):
        own = [c for c in kept if c.scenario == scenario]
        moved = [c.escalated for c in own if c.escalated is not None]
        scenarios.append(ScenarioRow(
            scenario=scenario, calls=len(own),
            average=_mean([c.score for c in own if c.score is not None]),
            escalated_share=sum(moved) / len(moved) if moved else None))
    everyone = sorted(set(trainees) | {c.user for c in calls})
    return Dashboard(trainees=rows, principles=principles, titles=titles, heatmap=heat,
                     scenarios=scenarios, calls=kept,
                     languages=sorted({c.language for c in calls}),
                     assignments=assignment_rows(assignments, calls, everyone, today))


def assignment_rows(assignments: Sequence[Assignment], calls: Sequence[CallRecord],
                    everyone: Sequence[str], today: date | None = None) -> list[AssignmentRow]:
    """Each assignment per trainee and scenario: done (an ended, scored call of the
    scenario since it was assigned; for an assessment, its attempt), not done, or overdue."""
    today = today or date.today()
    rows = []
    for a in assignments:
        for name in (a.trainees or everyone):
            for scenario in a.scenarios:
                done = [c for c in calls if c.user == name and c.scenario == scenario
                        and c.started_at >= a.created_at]
                first = done[0] if done else None
                state: AssignmentState = ("done" if first else "overdue"
                                          if a.due is not None and a.due < today else "not done")
                rows.append(AssignmentRow(
                    assignment_id=a.id or 0, trainee=name, scenario=scenario, due=a.due,
                    state=state, score=first.score if first else None,
                    passed=passed(first.score, a.pass_mark) if first else None,
                    assessment=a.assessment, session_id=first.session_id if first else None))
    return rows


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f}%"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def dashboard_csv(board: Dashboard) -> str:
    """One row per trainee: calls, average, trend, and per principle the share of the
    calls it came up in that were violated or partly met."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["trainee", "calls", "average_score", "trend",
                     *[f"weak_share:{p}" for p in board.principles]])
    for row in board.trainees:
        writer.writerow([row.name, row.calls, _num(row.average), _num(row.trend),
                         *[_pct(board.heatmap[row.name][p].share) for p in board.principles]])
    return out.getvalue()
