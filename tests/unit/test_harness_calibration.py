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
from roleplay.harness.calibrate import calibrate, describe
from roleplay.harness.calibration import (
    MIN_AUC,
    GroupSetting,
    calibration_file,
    load_calibration,
    read_calibration_file,
)
from roleplay.harness.devset import DevCase, load_dev_set, select_cases
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


# --- per-language figures and the file through the one loader --------------------------------

def _case(case_id: str, language: str, p_yes: float, violated: bool, split: str) -> DevCase:
    # The trainee's line carries the P(yes) the fake judge answers for it.
    return DevCase.model_validate({
        "id": case_id, "language": language, "quality": "bad" if violated else "good",
        "violated": ["acknowledge_feelings"] if violated else [], "split": split,
        "turns": [{"role": "customer", "content": "Minulla ei ole nettiä."},
                  {"role": "trainee", "content": f"vastaus p={p_yes}"}]})


def _p_from_line(prompt: str):  # type: ignore[no-untyped-def]
    return logprob_answer(float(agent_text(prompt).split("p=")[-1].split()[0].strip('".')))


def test_each_language_of_a_group_gets_its_own_aucs(tmp_path: Path) -> None:
    cases = [_case("fi-1", "fi", 0.9, False, "calib"), _case("fi-2", "fi", 0.4, False, "heldout"),
             _case("fi-3", "fi", 0.6, True, "calib"), _case("fi-4", "fi", 0.2, True, "heldout"),
             _case("lv-1", "lv", 0.3, False, "calib"), _case("lv-2", "lv", 0.8, True, "calib")]
    judge, _ = make_judge(check=_p_from_line)
    path = tmp_path / "calibration.yaml"
    results = calibrate(cases, RUBRIC, judge, path)
    other = next(r for r in results if (r.check, r.group) == ("empathy", "other"))
    fi, lv = other.languages["fi"], other.languages["lv"]
    # fi, not violated 0.9 and 0.4 vs violated 0.6 and 0.2: 3 of 4 pairs; calib 0.9 > 0.6;
    # held-out 0.4 > 0.2.
    assert (fi.auc_all, fi.auc_calib, fi.auc_heldout, fi.n_pos, fi.n_neg) == (
        0.75, 1.0, 1.0, 2, 2)
    # lv: 0.3 vs 0.8, the wrong way round; no held-out case.
    assert (lv.auc_all, lv.auc_calib, lv.auc_heldout) == (0.0, 0.0, None)
    # The group's calib pairs: 0.9 and 0.3 vs 0.6 and 0.8 -> 2 of 4: below MIN_AUC, off.
    assert other.auc_calib == 0.5 and not other.use
    assert list(other.languages) == ["fi", "lv"]
    assert any(line.split()[:1] == ["fi"] and "all 0.75" in line for line in describe(results))
    written = yaml.safe_load(path.read_text())["models"][judge.model_name]["empathy"]["other"]
    assert written["languages"]["fi"]["auc_all"] == 0.75
    assert written["languages"]["lv"]["auc_heldout"] is None
    # The file written is read back through the one loader, per-language figures and all.
    assert read_calibration_file(path).models[judge.model_name]["empathy"].other == GroupSetting(
        **written)
    assert "empathy:other" in load_calibration(path, judge.model_name).disabled


def test_use_false_in_the_file_is_a_bool_that_switches_the_check_off(tmp_path: Path) -> None:
    path = tmp_path / "calibration.yaml"
    path.write_text("models:\n  m:\n    empathy:\n      en:\n        threshold: 0.7\n"
                    "        use: false\n      other:\n        threshold: 0.6\n        use: true\n")
    calibration = load_calibration(path, "m")
    assert calibration.thresholds == {"empathy:en": 0.7, "empathy:other": 0.6}
    assert calibration.disabled == frozenset({"empathy:en"})
    group = read_calibration_file(path).models["m"]["empathy"].en
    assert group is not None and group.use is False


def test_a_misspelt_key_is_named_with_its_line_and_the_defaults_are_used(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "calibration.yaml"
    path.write_text("models:\n  m:\n    empathy:\n      en:\n        threshold: 0.7\n"
                    "        usee: false\n")
    with caplog.at_level("WARNING"):
        calibration = load_calibration(path, "m")
    assert calibration.thresholds == {} and calibration.disabled == frozenset()
    assert "calibration.yaml:6: models.m.empathy.en.usee" in caplog.text
    with pytest.raises(ConfigError, match=r"calibration.yaml:6"):
        read_calibration_file(path)


def test_recalibrating_refuses_to_overwrite_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "calibration.yaml"
    broken = "overrides:\n  m:\n    empathy:other:\n      use: nope\n"
    path.write_text(broken)
    judge, _ = make_judge(check=lambda p: logprob_answer(0.5))
    with pytest.raises(ConfigError, match=r"calibration.yaml:4"):
        calibrate(DEV[:2], RUBRIC, judge, path)
    assert path.read_text() == broken  # the hand override is not lost


def test_the_shipped_calibration_file_reads_through_the_loader() -> None:
    data = read_calibration_file(FILES.calibration)
    assert data.models
    assert all(isinstance(o.use, bool) for m in data.overrides.values() for o in m.values())
