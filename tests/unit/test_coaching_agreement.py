"""Reviewed calls measure the judge: three calls reviewed by a coach, exported in the
dev-set format, then the judge section of the harness against hand-counted agreement."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleplay.coaching.db import CoachingStore
from roleplay.coaching.labels import dev_set_lines, reviewed_cases
from roleplay.coaching.service import Coaching, CoachingError
from roleplay.config import PROJECT_ROOT
from roleplay.harness.coaches import describe, most_overruled
from roleplay.harness.devset import load_dev_set
from roleplay.harness.report import write_report
from roleplay.harness.runner import HarnessInputs, run_harness
from roleplay.harness.thresholds import load_thresholds
from roleplay.report import EvaluationReport, PrincipleResult
from roleplay.store import SqliteStore
from roleplay.transcript import Transcript, Turn

PRINCIPLES = ("empathy", "no_blame", "next_step", "plain_language")
# The machine's stored judgement of each call, by its trainee line.
STORED = {
    "Calm down, it is not our fault.": ("partly", "violated", "met", "unscored"),
    "I see. It ships tomorrow.": ("met", "met", "violated", "met"),
    "You should have read the terms.": ("met", "violated", "not_applicable", "met"),
}
# What the evaluator says when `roleplay eval` runs it again on the same calls (call 2's
# no_blame differs from what was stored: a fresh run of the judge).
FRESH = {
    "Calm down, it is not our fault.": ("met", "violated", "met", "unscored"),
    "I see. It ships tomorrow.": ("met", "violated", "violated", "met"),
    "You should have read the terms.": ("met", "violated", "not_applicable", "met"),
}


def report(statuses: tuple[str, ...]) -> EvaluationReport:
    score = {"met": 100.0, "partly": 50.0, "violated": 0.0}
    return EvaluationReport(
        overall_score=50.0, language="en",
        principles=[PrincipleResult(id=p, title=p.replace("_", " "), status=s,  # type: ignore[arg-type]
                                    score=score.get(s), explanation="-")
                    for p, s in zip(PRINCIPLES, statuses, strict=True)])


def fake_evaluate(transcript: Transcript) -> EvaluationReport:
    line = next(t.content for t in transcript.turns if t.role == "trainee")
    return report(FRESH[line])


def stored_call(store: SqliteStore, line: str) -> str:
    sid = store.create_session("late-parcel", user="ann")
    store.add_turn(sid, Turn(role="customer", content="Where is my parcel?"))
    store.add_turn(sid, Turn(role="trainee", content=line))
    store.end_session(sid)
    store.save_report(sid, report(STORED[line]))
    return sid


def test_three_reviewed_calls_give_the_hand_counted_agreement(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    coaching = Coaching(store, CoachingStore.beside(store))
    one, two, three = (stored_call(store, line) for line in STORED)
    coaching.set_status(one, "empathy", "violated", "No feeling named.", "tess")
    coaching.set_status(one, "no_blame", "met", "Deflecting, not blaming the customer.", "tess")
    # Changed twice: the latest counts, both are kept with their from/to.
    coaching.set_status(two, "next_step", "partly", "There is a date.", "tess")
    coaching.set_status(two, "next_step", "violated", "No, no time at all.", "uma")
    coaching.set_status(three, "next_step", "violated", "Should have offered one.", "tess")
    coaching.comment_turn(three, 1, "This line blames her.", "tess")
    with pytest.raises(CoachingError, match="say why"):
        coaching.set_status(three, "empathy", "violated", "  ", "tess")
    changes = coaching.review(two).changes
    assert [(c.by, c.from_status, c.to_status) for c in changes] == [
        ("tess", "violated", "partly"), ("uma", "partly", "violated")]

    cases = reviewed_cases(store, coaching.db)
    by_session = {c.id.rsplit("-", 1)[1]: c for c in cases}
    assert by_session[one].violated == ["empathy"]
    assert by_session[two].violated == ["next_step"]
    assert sorted(by_session[three].violated) == ["next_step", "no_blame"]
    assert by_session[one].tags == ["reviewed", "overruled:empathy", "overruled:no_blame"]
    assert by_session[two].tags == ["reviewed"]  # back to the machine's own verdict
    exported = tmp_path / "reviewed.jsonl"
    exported.write_text(dev_set_lines(cases), encoding="utf-8")

    result = run_harness(HarnessInputs(
        thresholds=load_thresholds(PROJECT_ROOT / "evals" / "thresholds.yaml"),
        sections=["judge"], reviewed_calls=load_dev_set(exported), evaluate=fake_evaluate,
        progress=False))
    m = result.metrics
    # Hand count, violated (T) or not (F) per call 1, 2, 3; the evaluator's then the coach's:
    #   empathy   F F F | T F F  -> agree 2/3, kappa 0 (the evaluator never says T)
    #   no_blame  T T T | F F T  -> agree 1/3, kappa 0, overruled 2
    #   next_step F T F | F T T  -> agree 2/3, kappa (2/3 - 4/9) / (1 - 4/9) = 0.4
    #   plain_language: unscored in call 1, so two pairs, F F | F F -> agree 1, no kappa
    # Pooled, 11 pairs, 4 T each side, 7 agree: kappa (77 - 65) / (121 - 65) = 3/14.
    assert m["judge.coaches.calls"] == 3
    assert m["judge.coaches.principle.empathy.agreement"] == pytest.approx(2 / 3)
    assert m["judge.coaches.principle.empathy.kappa"] == pytest.approx(0.0)
    assert m["judge.coaches.principle.no_blame.agreement"] == pytest.approx(1 / 3)
    assert m["judge.coaches.principle.no_blame.overruled"] == 2
    assert m["judge.coaches.principle.next_step.kappa"] == pytest.approx(0.4)
    assert m["judge.coaches.principle.plain_language.agreement"] == 1.0
    assert m["judge.coaches.principle.plain_language.kappa"] is None
    assert m["judge.coaches.agreement"] == pytest.approx(7 / 11)
    assert m["judge.coaches.kappa"] == pytest.approx(3 / 14)
    assert most_overruled(m) == [("no_blame", 2), ("empathy", 1), ("next_step", 1)]
    assert describe(m) == [
        "agreement with coaches on 3 reviewed call(s): 0.636, kappa 0.214",
        "  overruled most: no_blame (2), empathy (1), next_step (1)"]
    # The development set's figures are untouched by the reviewed calls.
    assert not [e for e in result.evaluations if e.dataset == "dev"]
    # The report shows the table, most overruled first.
    files = write_report(result, tmp_path / "report")
    summary = files["markdown"].read_text(encoding="utf-8")
    assert "## Agreement with the coaches" in summary
    table = summary.split("## Agreement with the coaches", 1)[1]
    assert table.index("| no_blame | 0.333 | 0 | 2 |") < table.index("| empathy |")
    assert "| all, pooled | 0.636 | 0.214 |  |" in table
    assert "Agreement with the coaches" in files["html"].read_text(encoding="utf-8")


def test_sessions_export_reviewed_writes_the_dev_set_format(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from roleplay.cli import main
    from roleplay.config import Settings

    db = tmp_path / "db.sqlite3"
    store = SqliteStore(db)
    coaching = Coaching(store, CoachingStore.beside(store))
    reviewed = stored_call(store, "I see. It ships tomorrow.")
    stored_call(store, "You should have read the terms.")  # not reviewed: not exported
    coaching.set_status(reviewed, "next_step", "met", "Tomorrow is a time.", "tess")
    out = tmp_path / "reviewed.jsonl"
    assert main(["sessions", "export", "--reviewed", "--out", str(out)],
                Settings(db_path=db)) == 0
    [case] = load_dev_set(out)
    assert (case.id, case.quality, case.violated) == (f"en-good-reviewed-{reviewed}", "good", [])
    assert case.tags == ["reviewed", "overruled:next_step"]
    assert [t["content"] for t in case.turns] == ["Where is my parcel?",
                                                   "I see. It ships tomorrow."]
    assert main(["sessions", "export", "--out", str(out)], Settings(db_path=db)) == 1
    assert "add --reviewed" in capsys.readouterr().err
