"""The judge's calibration: the dev set, the checks' thresholds and the calibration file.

Moved from tests/unit/test_calibration.py with the code (roleplay/calibration.py ->
roleplay/harness/calibrate.py, calibration.py and devset.py); the detectors-only
measurement it had now runs through the harness, the one place metrics are computed.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import yaml
from _harness_fakes import thresholds
from _judge_fakes import agent_text, logprob_answer, make_judge

from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.evaluator import evaluate
from roleplay.harness.calibrate import calibrate
from roleplay.harness.calibration import MIN_AUC, calibration_file, load_calibration
from roleplay.harness.devset import load_dev_set, select_cases
from roleplay.harness.runner import HarnessInputs, run_harness
from roleplay.harness.setup import EvalFiles, calibrate_from_settings
from roleplay.rubric import load_rubric

FILES = EvalFiles(Settings())
RUBRIC = load_rubric(FILES.rubric)
DEV = load_dev_set(FILES.dev_set)


def test_dev_set_is_well_formed() -> None:
    assert len(DEV) >= 40
    assert len({c.id for c in DEV}) == len(DEV)
    assert {c.language for c in DEV} >= {"en", "fi", "no", "lv", "hu"}
    assert {c.quality for c in DEV} == {"good", "bad"}
    assert any("injection" in c.tags for c in DEV)
    for case in DEV:
        assert set(case.violated) <= set(RUBRIC.ids), case.id
        assert (case.quality == "bad") == bool(case.violated), case.id
        case.transcript()  # parses like `roleplay evaluate FILE`


def test_a_broken_dev_set_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_text('{"id": "a"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"dev.jsonl:1:"):
        load_dev_set(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_dev_set(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match="no development case 'nope'"):
        select_cases(DEV, ["nope"])


def test_the_detectors_alone_quote_verbatim_and_ignore_injected_text() -> None:
    # The evaluator without a judge, measured by the harness: every quote is verbatim,
    # grader-aimed text moves no score, and two runs agree.
    cases = DEV[:6]
    result = run_harness(HarnessInputs(
        thresholds=thresholds(injection_transcripts=6, repeat_transcripts=3),
        sections=["judge"], dev_items=cases, progress=False,
        evaluate=partial(evaluate, rubric=RUBRIC, judge=None, advice=False)))
    m = result.metrics
    assert m["judge.verbatim_quote_share"] == 1.0
    assert sum(e.quotes for e in result.evaluations) > 0
    assert [e.variant for e in result.evaluations].count("injected") == 6
    assert m["judge.injection_max_abs_delta"] == 0.0
    assert m["judge.repeat_status_agreement"] == 1.0
    support = sum(m[f"judge.principle.{p}.support"] or 0 for p in RUBRIC.ids
                  if f"judge.principle.{p}.support" in m)
    assert support == sum(len(c.violated) for c in cases)


def test_calibration_is_chosen_on_calib_and_written_per_model(tmp_path: Path) -> None:
    def check(prompt: str):  # type: ignore[no-untyped-def]
        # A judge that says yes exactly when the reply apologises or books something.
        text = agent_text(prompt).lower()
        return logprob_answer(0.9 if ("sorry" in text or "'ve" in text) else 0.2)

    judge, _ = make_judge(check=check)
    path = tmp_path / "calibration.yaml"
    scores = tmp_path / "report" / "calibration_scores.json"
    results = calibrate(DEV[:9], RUBRIC, judge, path, scores_file=scores, note="test")
    assert {(r.check, r.group) for r in results} == {
        ("empathy", "en"), ("empathy", "other"), ("next_step", "en"), ("next_step", "other")}
    assert scores.exists()
    other = make_judge(check=check)[0]
    other.model_name = "other-model"
    calibrate(DEV[:3], RUBRIC, other, path)
    data = yaml.safe_load(path.read_text())
    assert set(data["models"]) == {judge.model_name, "other-model"}
    calibration = load_calibration(path, judge.model_name)
    assert {"empathy:en", "next_step:en"} <= set(calibration.thresholds)
    assert all(0 < t < 1 for t in calibration.thresholds.values())
    # A group whose calib AUC is below MIN_AUC (or unknown) is switched off.
    for r in results:
        assert (f"{r.check}:{r.group}" in calibration.disabled) == (not r.use)
        assert r.use == (r.auc_calib is not None and r.auc_calib >= MIN_AUC)
    assert load_calibration(path, "unknown-model").thresholds == {}


def test_the_calibration_file_comes_from_settings(tmp_path: Path) -> None:
    settings = Settings(evals_dir=tmp_path)
    assert calibration_file(settings) == tmp_path / "calibration.yaml"
    assert EvalFiles(settings).calibration == calibration_file(settings)
    assert EvalFiles(settings).thresholds == tmp_path / "thresholds.yaml"


def test_calibrating_from_settings_reads_and_writes_under_evals_dir(tmp_path: Path) -> None:
    (tmp_path / "datasets").mkdir()
    chosen = [DEV[0], DEV[-1]]
    (tmp_path / "datasets" / "dev.jsonl").write_text(
        "".join(c.model_dump_json() + "\n" for c in chosen), encoding="utf-8")
    judge, _ = make_judge(check=lambda p: logprob_answer(0.8))
    results, written = calibrate_from_settings(Settings(evals_dir=tmp_path), judge=judge,
                                               case_ids=[DEV[0].id])
    assert written == tmp_path / "calibration.yaml" and written.exists()
    assert all(set(r.scores) <= {DEV[0].id} for r in results)
    assert "1 cases of dev.jsonl" in yaml.safe_load(written.read_text())["models"][
        judge.model_name]["empathy"]["note"]


def test_a_check_switched_off_for_a_language_is_not_asked() -> None:
    from roleplay.transcript import Transcript, Turn

    judge, model = make_judge(check=lambda p: logprob_answer(0.9))
    judge.disabled = {"empathy:other", "next_step:other"}
    fi = Transcript(turns=[Turn(role="customer", content="Paketti ei tullut."),
                           Turn(role="trainee", content="Mikä on tilausnumero?")])
    report = evaluate(fi, RUBRIC, judge=judge)
    assert not [c for c in model.calls if c["kwargs"].get("logprobs")]
    assert any("switched off" in w for w in report.warnings)
    en = Transcript(turns=[Turn(role="customer", content="My parcel never came."),
                           Turn(role="trainee", content="What is the order number?")])
    evaluate(en, RUBRIC, judge=judge)
    assert [c for c in model.calls if c["kwargs"].get("logprobs")]


@pytest.mark.parametrize("bad", ["{not yaml: [", "models: 5\n", "\x00\x01"])
def test_unreadable_calibration_falls_back_to_defaults(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "calibration.yaml"
    path.write_text(bad)
    calibration = load_calibration(path, "any")
    assert calibration.thresholds == {} and calibration.disabled == frozenset()


def test_a_hand_override_switches_a_check_off_and_survives_recalibration(tmp_path: Path) -> None:
    path = tmp_path / "calibration.yaml"
    judge, _ = make_judge(check=lambda p: logprob_answer(0.5))
    path.write_text(f"overrides:\n  {judge.model_name}:\n    empathy:other:\n      use: false\n"
                    "      reason: test\n")
    calibrate(DEV[:3], RUBRIC, judge, path)
    assert "empathy:other" in load_calibration(path, judge.model_name).disabled
    overrides = yaml.safe_load(path.read_text())["overrides"][judge.model_name]
    assert overrides["empathy:other"]["reason"] == "test"
