"""Per-language judge figures and the held-out calls, against values counted by hand.

A tiny labelled set in two languages, an evaluator that gives each call a verdict written
for it, and the harness's real metric code: every figure below is worked out in the
comment beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _harness_fakes import labelled_call, scripted_evaluate, thresholds, write_thresholds

from roleplay.cli import main
from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.harness.devset import DevCase, load_dev_set, select_from
from roleplay.harness.report import write_report
from roleplay.harness.runner import HarnessInputs, HarnessResult, judge_units, run_harness, score
from roleplay.harness.setup import EvalFiles, inputs_from_settings

MET = "met"
BAD = "violated"

# en: two good calls (one told it violated `a`), two bad ones (`b` missed on en-b2).
# fi: one good, one bad, judged right.
DEV = [labelled_call("en-g1", "en", "good"), labelled_call("en-g2", "en", "good"),
       labelled_call("en-b1", "en", "bad", ["a"]), labelled_call("en-b2", "en", "bad", ["b"]),
       labelled_call("fi-g1", "fi", "good"), labelled_call("fi-b1", "fi", "bad", ["a"])]
VERDICTS = {"en-g1": (90.0, {"a": MET, "b": MET}), "en-g2": (60.0, {"a": BAD, "b": MET}),
            "en-b1": (70.0, {"a": BAD, "b": MET}), "en-b2": (40.0, {"a": MET, "b": MET}),
            "fi-g1": (80.0, {"a": MET, "b": MET}), "fi-b1": (30.0, {"a": BAD, "b": MET}),
            # held-out calls: lv has one good call of two told it violated `b`
            "lv-g1": (85.0, {"a": MET, "b": MET}), "lv-g2": (50.0, {"a": MET, "b": BAD}),
            "lv-b1": (55.0, {"a": BAD, "b": MET}),
            "hu-g1": (95.0, {"a": MET, "b": MET}), "hu-b1": (20.0, {"a": MET, "b": BAD})}
CALLS = [labelled_call("lv-g1", "lv", "good", split="heldout"),
         labelled_call("lv-g2", "lv", "good", split="heldout"),
         labelled_call("lv-b1", "lv", "bad", ["a"], split="heldout"),
         labelled_call("hu-g1", "hu", "good", split="heldout"),
         labelled_call("hu-b1", "hu", "bad", ["b"], split="heldout")]


def _run(dev: list[DevCase], calls: list[DevCase] | None = None) -> HarnessResult:
    return run_harness(HarnessInputs(
        thresholds=thresholds(injection_transcripts=0, repeat_transcripts=0), sections=["judge"],
        dev_items=dev, heldout_calls=calls or [], evaluate=scripted_evaluate(VERDICTS),
        progress=False))


def test_per_language_figures_match_the_hand_count() -> None:
    m = _run(DEV).metrics
    # en AUC: good 90, 60 vs bad 70, 40: 90>70, 90>40, 60<70, 60>40 -> 3 of 4 pairs.
    assert m["judge.lang.en.auc"] == pytest.approx(0.75)
    # `a` predicted on en-g2, en-b1 and labelled on en-b1: precision 1/2, recall 1.
    # `b` never predicted (no precision), labelled on en-b2 and missed: recall 0.
    assert m["judge.lang.en.violated_precision_macro"] == pytest.approx(0.5)
    assert m["judge.lang.en.violated_recall_macro"] == pytest.approx(0.5)
    # 8 (call, principle) pairs: 6 agree; 2 of 8 predicted and 2 of 8 labelled violated, so
    # chance agreement is (2/8)^2 + (6/8)^2 = 10/16: kappa (12/16 - 10/16) / (6/16) = 1/3.
    assert m["judge.lang.en.kappa"] == pytest.approx(1 / 3)
    assert m["judge.lang.en.good_violated_share"] == pytest.approx(0.5)
    assert (m["judge.lang.en.good_violated"], m["judge.lang.en.n_good"],
            m["judge.lang.en.n_bad"]) == (1.0, 2.0, 2.0)
    # fi is judged right: everything perfect, nothing flagged on the good call.
    assert m["judge.lang.fi.auc"] == 1.0
    assert m["judge.lang.fi.kappa"] == pytest.approx(1.0)
    assert m["judge.lang.fi.violated_precision_macro"] == 1.0
    assert m["judge.lang.fi.violated_recall_macro"] == 1.0
    assert m["judge.lang.fi.good_violated_share"] == 0.0
    # All six: good 90, 60, 80 vs bad 70, 40, 30 -> 3 + 2 + 3 of 9 pairs.
    assert m["judge.auc"] == pytest.approx(8 / 9)
    assert m["judge.good_violated_share"] == pytest.approx(1 / 3)
    assert not [n for n in m if n.startswith("judge.heldout_calls")]


def test_a_language_with_one_class_has_no_auc_rather_than_a_made_up_one() -> None:
    m = _run(DEV[:2]).metrics
    assert m["judge.lang.en.auc"] is None
    assert m["judge.lang.en.good_violated_share"] == 0.5


def test_the_heldout_calls_are_reported_apart_and_change_no_dev_metric() -> None:
    alone = _run(DEV).metrics
    both = _run(DEV, CALLS)
    m = both.metrics
    assert {n: v for n, v in m.items() if not n.startswith("judge.heldout_calls")
            and n != "judge.seconds_per_transcript"} == {
        n: v for n, v in alone.items() if n != "judge.seconds_per_transcript"}
    # lv: good 85, 50 vs bad 55 -> 1 of 2 pairs; one good call of two flagged.
    assert m["judge.heldout_calls.lang.lv.auc"] == pytest.approx(0.5)
    assert m["judge.heldout_calls.lang.lv.good_violated_share"] == pytest.approx(0.5)
    assert m["judge.heldout_calls.lang.hu.auc"] == 1.0
    assert m["judge.heldout_calls.lang.hu.good_violated_share"] == 0.0
    # All five: good 85, 50, 95 vs bad 55, 20 -> 2 + 1 + 2 of 6 pairs.
    assert m["judge.heldout_calls.auc"] == pytest.approx(5 / 6)
    assert m["judge.heldout_calls.good_violated_share"] == pytest.approx(1 / 3)
    # `a` predicted on lv-b1 (labelled): 1/1; `b` predicted on lv-g2 and hu-b1, labelled on
    # hu-b1: precision 1/2. Recall 1 for both.
    assert m["judge.heldout_calls.violated_precision_macro"] == pytest.approx(0.75)
    assert m["judge.heldout_calls.violated_recall_macro"] == 1.0
    assert m["judge.heldout_calls.verbatim_quote_share"] == 1.0
    assert m["judge.heldout_calls.failed_share"] == 0.0
    calls = [e for e in both.evaluations if e.dataset == "heldout_calls"]
    assert sorted(e.item_id for e in calls) == sorted(c.id for c in CALLS)
    assert all(e.variant == "plain" for e in calls)
    assert set(both.call_labels) == {c.id for c in CALLS}


def test_the_heldout_calls_count_in_the_judge_units() -> None:
    inputs = HarnessInputs(thresholds=thresholds(injection_transcripts=2, repeat_transcripts=2),
                           sections=["judge"], dev_items=DEV, heldout_calls=CALLS)
    assert judge_units(inputs) == len(DEV) + 2 + 2 + len(CALLS)


def test_a_replay_gives_the_same_figures(tmp_path: Path) -> None:
    result = _run(DEV, CALLS)
    recorded = HarnessResult.model_validate_json(
        write_report(result, tmp_path)["json"].read_text())
    again = score(recorded, thresholds())
    assert {n: v for n, v in again.metrics.items() if ".lang." in n or "heldout_calls" in n} == {
        n: v for n, v in result.metrics.items() if ".lang." in n or "heldout_calls" in n}


def test_the_report_has_the_language_tables_and_the_heldout_calls_section(tmp_path: Path) -> None:
    paths = write_report(_run(DEV, CALLS), tmp_path)
    md = paths["markdown"].read_text()
    assert "## Held-out calls" in md
    assert md.count("### Per language") == 2
    assert "| en | 2 | 2 | 0.75 | 0.333 | 0.5 | 0.5 | 0.5 (1 of 2) |" in md
    assert "| lv | 2 | 1 | 0.5 |" in md and "0.5 (1 of 2)" in md
    assert "| all | 3 | 2 | 0.833 |" in md
    assert "| judge.good_violated_share | 0.333 |" in md
    page = paths["html"].read_text()
    assert "<h2>Held-out calls</h2>" in page and "held-out call" in page
    assert page.count('src="data:image/png;base64,') == 3  # two score plots and the bars


def test_without_heldout_calls_the_section_is_left_out(tmp_path: Path) -> None:
    md = write_report(_run(DEV), tmp_path)["markdown"].read_text()
    assert "Held-out calls" not in md and "### Per language" in md


# --- loading the held-out calls ------------------------------------------------------------

def _write(path: Path, cases: list[DevCase]) -> Path:
    path.write_text("".join(c.model_dump_json() + "\n" for c in cases), encoding="utf-8")
    return path


def test_a_heldout_file_refuses_a_calib_case_and_a_repeated_id(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"calls.jsonl:2: split: is 'calib'"):
        load_dev_set(_write(tmp_path / "calls.jsonl", [CALLS[0], DEV[0]]), split="heldout")
    with pytest.raises(ConfigError, match=r"calls.jsonl:2: id: 'lv-g1' is already used on line 1"):
        load_dev_set(_write(tmp_path / "calls.jsonl", [CALLS[0], CALLS[0]]))


def test_case_ids_choose_from_both_sets() -> None:
    dev, calls = select_from([DEV, CALLS], ["en-g1", "hu-b1"])
    assert [c.id for c in dev] == ["en-g1"] and [c.id for c in calls] == ["hu-b1"]
    assert select_from([DEV, CALLS], None) == [DEV, CALLS]
    with pytest.raises(ConfigError, match="no development case 'nope'"):
        select_from([DEV, CALLS], ["nope"])
    with pytest.raises(ConfigError, match="'en-g1' is in two files"):
        select_from([DEV, DEV[:1]], None)


def test_the_shipped_heldout_calls_load_twenty_good_ones_per_language() -> None:
    # Issue 15's "at most 1 in 20 good calls" per language needs 20 good calls in each.
    inputs = inputs_from_settings(Settings(), ["judge"], judge_model=False, progress=False)
    calls = inputs.heldout_calls
    assert len(calls) == 115
    for language in ("en", "fi", "lv", "hu", "no"):
        mine = [c for c in calls if c.language == language]
        assert sum(c.quality == "good" for c in mine) == 20, language
        assert sum(c.quality == "bad" for c in mine) == 3, language
    assert {c.split for c in calls} == {"heldout"}
    assert not {c.id for c in calls} & {c.id for c in inputs.dev_items}
    assert EvalFiles(Settings()).heldout_calls.name == "heldout_calls.jsonl"


def test_cli_case_may_name_a_heldout_call(tmp_path: Path) -> None:
    inputs = inputs_from_settings(Settings(), ["judge"], judge_model=False, progress=False)
    call = inputs.heldout_calls[0].id
    t = write_thresholds(tmp_path / "t.yaml", thresholds())
    main(["eval", "--no-model", "--case", call, "--case", "en-good-crm-outage", "--report-dir",
          str(tmp_path), "--thresholds", str(t), "--quiet"], settings=Settings())
    result = HarnessResult.model_validate_json((tmp_path / "results.json").read_text())
    assert {(e.item_id, e.dataset) for e in result.evaluations} >= {
        (call, "heldout_calls"), ("en-good-crm-outage", "dev")}
    assert set(result.call_labels) == {call}


def test_the_second_writers_calls_load_and_share_no_id_with_the_other_sets() -> None:
    files = EvalFiles(Settings())
    calls = load_dev_set(files.dev_set.parent / "second_writer.jsonl")
    assert len(calls) == 60 and {c.split for c in calls} == {"calib"}
    for language in ("en", "fi", "lv", "hu", "no"):
        assert sum(c.language == language for c in calls) == 12, language
    others = load_dev_set(files.dev_set) + load_dev_set(files.heldout_calls)
    assert not {c.id for c in calls} & {c.id for c in others}


def test_cli_dev_set_measures_the_judge_on_another_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # evals/datasets/README.md: the second writer's calls are measured this way.
    other = _write(tmp_path / "other.jsonl", [DEV[0], DEV[1]])
    t = write_thresholds(tmp_path / "t.yaml", thresholds())
    main(["eval", "--no-model", "--dev-set", str(other), "--case", DEV[1].id, "--report-dir",
          str(tmp_path), "--thresholds", str(t), "--quiet"], settings=Settings())
    result = HarnessResult.model_validate_json((tmp_path / "results.json").read_text())
    assert {(e.item_id, e.dataset) for e in result.evaluations} == {(DEV[1].id, "dev")}
    capsys.readouterr()
    assert main(["eval", "--calibrate", "--dev-set", str(other)], settings=Settings()) != 0
    assert "--dev-set measures the judge section" in capsys.readouterr().err
