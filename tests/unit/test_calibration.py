"""Measurement helpers: AUC, thresholds, per-principle precision/recall, and the dev set."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from _judge_fakes import agent_text, logprob_answer, make_judge

from roleplay.calibration import (
    MIN_AUC,
    auc,
    calibrate_checks,
    load_dev_set,
    measure,
    write_calibration,
    youden_threshold,
)
from roleplay.judge import load_calibration, load_thresholds
from roleplay.rubric import load_rubric

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "evals" / "datasets" / "dev.jsonl"


def test_auc_counts_ties_half_and_needs_both_classes() -> None:
    assert auc([3, 4], [1, 2]) == 1.0
    assert auc([1, 2], [3, 4]) == 0.0
    assert auc([2], [2]) == 0.5
    assert auc([], [1]) is None


def test_youden_threshold_separates_when_it_can() -> None:
    cut = youden_threshold([0.8, 0.9, 0.85], [0.6, 0.7, 0.65])
    assert 0.7 < cut < 0.8


def test_dev_set_is_well_formed() -> None:
    rubric = load_rubric(REPO / "prompts" / "rubric.yaml")
    cases = load_dev_set(DEV)
    assert len(cases) >= 40
    assert len({c.id for c in cases}) == len(cases)
    assert {c.language for c in cases} >= {"en", "fi", "no", "lv", "hu"}
    assert {c.quality for c in cases} == {"good", "bad"}
    assert any("injection" in c.tags for c in cases)
    for case in cases:
        assert set(case.violated) <= set(rubric.ids), case.id
        assert (case.quality == "bad") == bool(case.violated), case.id
        case.transcript()  # parses like `roleplay evaluate FILE`


def test_measure_reports_auc_quotes_and_injection(tmp_path: Path) -> None:
    rubric = load_rubric(REPO / "prompts" / "rubric.yaml")
    cases = load_dev_set(DEV)[:6]
    result = measure(cases, rubric, judge=None)
    summary = result.summary()
    assert summary["n_cases"] == 6
    assert summary["quotes_verbatim"] == summary["quotes_total"] > 0
    assert summary["injection_cases"] == 6
    assert summary["injection_max_abs_delta"] == 0.0
    per = result.per_principle()
    assert sum(m.tp + m.fn for m in per.values()) == sum(len(c.violated) for c in cases)


def test_calibration_is_chosen_on_calib_and_written_per_model(tmp_path: Path) -> None:
    rubric = load_rubric(REPO / "prompts" / "rubric.yaml")
    cases = load_dev_set(DEV)[:9]

    def check(prompt: str):  # type: ignore[no-untyped-def]
        # A judge that says yes exactly when the reply apologises or books something.
        text = agent_text(prompt).lower()
        return logprob_answer(0.9 if ("sorry" in text or "'ve" in text) else 0.2)

    judge, _ = make_judge(check=check)
    results = calibrate_checks(cases, rubric, judge)
    assert {(r.check, r.group) for r in results} == {
        ("empathy", "en"), ("empathy", "other"), ("next_step", "en"), ("next_step", "other")}
    path = tmp_path / "calibration.yaml"
    write_calibration(path, "fake-judge", results, note="test")
    write_calibration(path, "other-model", results[:1], note="test")
    data = yaml.safe_load(path.read_text())
    assert set(data["models"]) == {"fake-judge", "other-model"}
    thresholds, disabled = load_calibration("fake-judge", path)
    assert {"empathy:en", "next_step:en"} <= set(thresholds)
    assert all(0 < t < 1 for t in thresholds.values())
    # A group whose calib AUC is below MIN_AUC (or unknown) is switched off.
    for r in results:
        assert (f"{r.check}:{r.group}" in disabled) == (not r.use)
        assert r.use == (r.auc_calib is not None and r.auc_calib >= MIN_AUC)
    assert load_thresholds("unknown-model", path) == {}


def test_a_check_switched_off_for_a_language_is_not_asked(tmp_path: Path) -> None:
    from roleplay.evaluator import evaluate
    from roleplay.transcript import Transcript, Turn

    rubric = load_rubric(REPO / "prompts" / "rubric.yaml")
    judge, model = make_judge(check=lambda p: logprob_answer(0.9))
    judge.disabled = {"empathy:other", "next_step:other"}
    fi = Transcript(turns=[Turn(role="customer", content="Paketti ei tullut."),
                           Turn(role="trainee", content="Mikä on tilausnumero?")])
    report = evaluate(fi, rubric, judge=judge)
    assert not [c for c in model.calls if c["kwargs"].get("logprobs")]
    assert any("switched off" in w for w in report.warnings)
    en = Transcript(turns=[Turn(role="customer", content="My parcel never came."),
                           Turn(role="trainee", content="What is the order number?")])
    evaluate(en, rubric, judge=judge)
    assert [c for c in model.calls if c["kwargs"].get("logprobs")]


@pytest.mark.parametrize("bad", ["{not yaml: [", "models: 5\n"])
def test_unreadable_calibration_falls_back_to_defaults(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "calibration.yaml"
    path.write_text(bad)
    assert load_thresholds("any", path) == {}


def test_a_hand_override_switches_a_check_off_and_survives_recalibration(tmp_path: Path) -> None:
    rubric = load_rubric(REPO / "prompts" / "rubric.yaml")
    path = tmp_path / "calibration.yaml"
    path.write_text("overrides:\n  m:\n    empathy:other:\n      use: false\n      reason: test\n")
    judge, _ = make_judge(check=lambda p: logprob_answer(0.5))
    write_calibration(path, "m", calibrate_checks(load_dev_set(DEV)[:3], rubric, judge), note="t")
    _, disabled = load_calibration("m", path)
    assert "empathy:other" in disabled
    assert yaml.safe_load(path.read_text())["overrides"]["m"]["empathy:other"]["reason"] == "test"


def test_repeat_runs_report_agreement() -> None:
    rubric = load_rubric(REPO / "prompts" / "rubric.yaml")
    result = measure(load_dev_set(DEV)[:3], rubric, judge=None, injection_cases=[], repeat=True)
    assert result.agreement() == (1.0, 0.0)
