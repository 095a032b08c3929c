"""The coaching core without a browser: the dashboard's figures, assignments' states, the
review rules, the CSV and xAPI exports and the plots, each against hand-counted values."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa

from roleplay.coaching.dashboard import (
    CallRecord,
    Filters,
    build_dashboard,
    dashboard_csv,
    load_calls,
    trend,
)
from roleplay.coaching.db import CoachingStore
from roleplay.coaching.models import Assignment, Attempt
from roleplay.coaching.plots import heatmap_figure, principle_trend_figure, scenario_figure
from roleplay.coaching.service import Coaching, CoachingError
from roleplay.coaching.xapi import Result, results_csv, statement
from roleplay.report import EvaluationReport, PrincipleResult
from roleplay.store import SqliteStore
from roleplay.transcript import Turn

DAY = datetime(2026, 11, 2, 9, tzinfo=UTC)
SCHEMA = json.loads((Path(__file__).parent / "data" / "xapi_statement.schema.json"
                     ).read_text(encoding="utf-8"))


def rec(sid: str, user: str, day: int, score: float, statuses: dict[str, str],
        scenario: str = "late", language: str = "en", path: tuple[str, str] = ("passive-angry",
                                                                             "calm")) -> CallRecord:
    return CallRecord(session_id=sid, user=user, scenario=scenario, language=language,
                      started_at=DAY + timedelta(days=day), score=score, statuses=statuses,
                      titles={p: p.title() for p in statuses}, start_rung=path[0],
                      end_rung=path[1])


CALLS = [
    rec("a1", "ann", 0, 40, {"empathy": "violated", "blame": "met"},
        path=("passive-angry", "cursing")),
    rec("a2", "ann", 1, 60, {"empathy": "partly", "blame": "not_applicable"}),
    rec("a3", "ann", 2, 80, {"empathy": "met", "blame": "met"}, scenario="lost"),
    rec("a4", "ann", 3, 100, {"empathy": "met", "blame": "violated"}, language="fi"),
    rec("b1", "bob", 1, 50, {"empathy": "met", "blame": "partly"},
        path=("calm", "escalated-angry")),
]


def test_the_dashboard_counts_by_hand() -> None:
    board = build_dashboard(CALLS, Filters())
    ann, bob = board.trainees
    # ann: 40, 60, 80, 100 -> mean 70; later half (90) minus earlier half (50) = +40.
    assert (ann.name, ann.calls, ann.average, ann.trend) == ("ann", 4, 70.0, 40.0)
    assert (bob.calls, bob.average, bob.trend) == (1, 50.0, None)
    empathy = board.heatmap["ann"]["empathy"]
    assert (empathy.weak, empathy.assessed, empathy.share) == (["a1", "a2"], 4, 0.5)
    # not_applicable is no verdict: blame came up in 3 of ann's 4 calls, weak in one.
    blame = board.heatmap["ann"]["blame"]
    assert (blame.weak, blame.assessed) == (["a4"], 3)
    late, lost = board.scenarios
    # late: a1, a2, a4, b1 -> mean 62.5; a1 and b1 ended angrier than they started.
    assert (late.scenario, late.calls, late.average, late.escalated_share) == (
        "late", 4, 62.5, 0.5)
    assert (lost.calls, lost.average, lost.escalated_share) == (1, 80.0, 0.0)
    rows = list(csv.reader(io.StringIO(dashboard_csv(board))))
    assert rows[0] == ["trainee", "calls", "average_score", "trend", "weak_share:empathy",
                       "weak_share:blame"]
    assert rows[1] == ["ann", "4", "70.0", "40.0", "50%", "33%"]
    assert rows[2] == ["bob", "1", "50.0", "", "0%", "100%"]


def test_the_filters_keep_a_period_a_scenario_and_a_language() -> None:
    def ids(f: Filters) -> list[str]:
        return [c.session_id for c in build_dashboard(CALLS, f).calls]
    assert ids(Filters(since=date(2026, 11, 3), until=date(2026, 11, 4))) == ["a2", "b1", "a3"]
    assert ids(Filters(scenario="lost")) == ["a3"]
    assert ids(Filters(language="fi")) == ["a4"]
    assert build_dashboard(CALLS, Filters(language="fi")).languages == ["en", "fi"]
    assert trend([10, 20, 30]) == 20.0  # the middle call is in neither half


def test_assignments_are_done_not_done_or_overdue() -> None:
    made = DAY - timedelta(days=1)
    assignments = [
        Assignment(id=1, scenarios=["late", "lost"], trainees=["bob"], due=date(2026, 11, 10),
                   pass_mark=60, created_by="tess", created_at=made),
        Assignment(id=2, scenarios=["lost"], trainees=[], due=date(2026, 11, 1),
                   created_by="tess", created_at=made)]
    board = build_dashboard(CALLS, Filters(), assignments, trainees=["ann", "bob", "cy"],
                            today=date(2026, 11, 5))
    states = {(r.assignment_id, r.trainee, r.scenario): (r.state, r.passed)
              for r in board.assignments}
    assert states == {
        (1, "bob", "late"): ("done", False),  # 50 under the pass mark of 60
        (1, "bob", "lost"): ("not done", None),
        (2, "ann", "lost"): ("done", None),
        (2, "bob", "lost"): ("overdue", None),
        (2, "cy", "lost"): ("overdue", None)}


@pytest.fixture
def coaching(tmp_path: Path) -> Coaching:
    store = SqliteStore(tmp_path / "db.sqlite3")
    sid = store.create_session("late", user="ann")
    store.add_turn(sid, Turn(role="customer", content="Where is it?"))
    store.add_turn(sid, Turn(role="trainee", content="Sorry."))
    store.end_session(sid)
    store.save_report(sid, EvaluationReport(overall_score=50, principles=[PrincipleResult(
        id="empathy", title="Empathy", status="partly", score=50, explanation="-")]))
    return Coaching(store, CoachingStore.beside(store))


def test_a_review_needs_a_reason_a_known_principle_and_a_real_turn(coaching: Coaching) -> None:
    [info] = coaching.store.list_sessions()
    sid = info.session_id
    for args, told in ((("empathy", "violated", ""), "say why"),
                       (("courtesy", "met", "x"), "no principle 'courtesy'"),
                       (("empathy", "unscored", "x"), "use one of met, partly")):
        with pytest.raises(CoachingError, match=told):
            coaching.set_status(sid, *args, by="tess")
    with pytest.raises(CoachingError, match="turns 1 to 2"):
        coaching.comment_turn(sid, 2, "Good.", "tess")
    assert not coaching.review(sid).reviewed
    coaching.set_status(sid, "empathy", "met", "She was heard.", "tess")
    [call] = load_calls(coaching.store, coaching.db)
    assert call.statuses == {"empathy": "met"} and call.reviewed


def test_an_assignment_form_names_the_bad_field(coaching: Coaching) -> None:
    def assign(**kw: object) -> Assignment:
        args: dict[str, object] = {
            "scenarios": ["late"], "trainees": [], "due": "", "pass_mark": "",
            "assessment": False, "release_at_once": False, "by": "tess",
            "known_scenarios": ["late"], "known_trainees": ["ann"]}
        return coaching.assign(**{**args, **kw})  # type: ignore[arg-type]
    for kw, told in (({"scenarios": []}, "pick at least one"),
                     ({"trainees": ["zed"]}, "zed is not in the users file"),
                     ({"due": "next friday"}, "YYYY-MM-DD"),
                     ({"pass_mark": "101"}, "0 to 100"),
                     ({"assessment": True}, "needs a pass mark")):
        with pytest.raises(CoachingError, match=told):
            assign(**kw)
    made = assign(pass_mark="70", assessment=True, due="2026-12-24")
    assert made.id is not None and coaching.db.assignment(made.id).due == date(2026, 12, 24)
    [(open_, scenario)] = coaching.open_assignments("ann")
    assert (open_.id, scenario) == (made.id, "late")
    coaching.begin("s1", "ann", "late")
    assert coaching.open_assignments("ann") == []  # one attempt per assessment
    assert coaching.db.attempts() == [Attempt(assignment_id=made.id, session_id="s1",
                                              user="ann", scenario="late")]


@pytest.mark.parametrize("score, mark, verb, success", [
    (75.0, 60.0, "passed", True), (40.0, 60.0, "failed", False), (40.0, None, "completed", None)])
def test_an_xapi_statement_per_attempt(score: float, mark: float | None, verb: str,
                                       success: bool | None) -> None:
    result = Result(assignment_id=3, session_id="abc", trainee="ann", scenario="late",
                    started_at=DAY, ended_at=DAY + timedelta(minutes=5), score=score,
                    pass_mark=mark, passed=None if mark is None else score >= mark,
                    released=True)
    made = statement(result, "http://127.0.0.1:7860/")
    assert made["verb"] == {"id": f"http://adlnet.gov/expapi/verbs/{verb}",
                            "display": {"en-US": verb}}
    if success is not None:
        jsonschema.validate(made, SCHEMA, format_checker=jsonschema.FormatChecker())
        assert made["result"]["success"] is success  # type: ignore[index]
    assert made == statement(result, "http://127.0.0.1:7860/")  # same id each export
    row = list(csv.reader(io.StringIO(results_csv([result]))))[1]
    assert row[6:9] == [f"{score:.1f}", "" if mark is None else f"{mark:g}",
                        "" if success is None else "pass" if success else "fail"]


def test_the_plots_draw_what_there_is_and_nothing_without_calls() -> None:
    board = build_dashboard(CALLS, Filters())
    assert heatmap_figure(board) is not None and scenario_figure(board) is not None
    assert principle_trend_figure([c for c in CALLS if c.user == "ann"]) is not None
    empty = build_dashboard([], Filters())
    assert heatmap_figure(empty) is None and scenario_figure(empty) is None
    assert principle_trend_figure([]) is None


def test_the_tables_live_on_any_sqlalchemy_database() -> None:
    db = CoachingStore(sa.create_engine("sqlite://"), create=True)
    made = db.add_assignment(Assignment(scenarios=["late"], created_by="tess"))
    assert [a.id for a in db.assignments()] == [made.id]
