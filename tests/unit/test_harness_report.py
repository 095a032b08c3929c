"""The report files and `roleplay eval` exit codes, from runs on fakes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from _harness_fakes import (
    BREAK_AI,
    PERSONAS,
    SCRIPTS,
    broken_persona,
    constant_evaluate,
    dev_items,
    lexical_evaluate,
    make_engine,
    thresholds,
    write_thresholds,
)

from roleplay.cli import main
from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.harness.judging import EvaluateFn
from roleplay.harness.report import write_report
from roleplay.harness.runner import HarnessInputs, HarnessResult, run_harness
from roleplay.harness.setup import inputs_from_settings
from roleplay.personas import Persona


def _result(personas: list[Persona], evaluate: EvaluateFn) -> HarnessResult:
    return run_harness(HarnessInputs(
        thresholds=thresholds(), personas=personas, scripts=SCRIPTS, engine_factory=make_engine,
        dev_items=dev_items(), evaluate=evaluate, progress=False, customer_model="fake"))


@pytest.fixture(scope="module")
def failing() -> HarnessResult:
    return _result([broken_persona("crm-outage", BREAK_AI), PERSONAS["alv-raportti"]],
                   constant_evaluate)


def test_the_four_files_are_written(failing: HarnessResult, tmp_path: Path) -> None:
    paths = write_report(failing, tmp_path / "report")
    assert {p.name for p in paths.values()} == {"index.html", "summary.md", "results.json",
                                               "junit.xml"}
    assert all(p.stat().st_size > 0 for p in paths.values())


def test_html_is_self_contained_with_three_plots(failing: HarnessResult, tmp_path: Path) -> None:
    page = write_report(failing, tmp_path)["html"].read_text()
    assert page.count('src="data:image/png;base64,') == 3
    assert not re.search(r'(?:src|href)="(?!data:)', page)  # nothing fetched from elsewhere
    assert "personas.crm-outage.in_character_rate" in page
    assert "FAIL" in page


def test_transcript_text_is_escaped_in_html(tmp_path: Path) -> None:
    from roleplay.harness.contracts import Script

    script = Script(id="html", strategy="adversarial", languages=["en"],
                    lines=["<script>alert(1)</script> are you an AI?"])
    result = run_harness(HarnessInputs(
        thresholds=thresholds(), sections=["personas"], personas=[PERSONAS["crm-outage"]],
        scripts=[script], engine_factory=make_engine, progress=False))
    page = write_report(result, tmp_path)["html"].read_text()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)" in page


def test_junit_has_one_failing_testcase_per_failing_metric(failing: HarnessResult,
                                                          tmp_path: Path) -> None:
    root = ET.parse(write_report(failing, tmp_path)["junit"]).getroot()
    failed = {case.get("name") for case in root.iter("testcase")
              if case.find("failure") is not None}
    assert failed == {c.metric for c in failing.failures}
    assert {"judge.auc", "personas.crm-outage.in_character_rate"} <= failed
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"roleplay.eval.personas", "roleplay.eval.judge"}


def test_markdown_lists_failing_metrics_and_tables(failing: HarnessResult, tmp_path: Path) -> None:
    md = write_report(failing, tmp_path)["markdown"].read_text()
    assert md.startswith("# roleplay eval report")
    assert "## Failing metrics" in md
    assert "FAIL: judge.auc = 0.5 (needs >= 0.7)" in md
    assert "| personas.in_character_rate |" in md
    assert "### `violated` per principle" in md


def test_json_round_trips(failing: HarnessResult, tmp_path: Path) -> None:
    path = write_report(failing, tmp_path)["json"]
    again = HarnessResult.model_validate_json(path.read_text())
    assert again.metrics == json.loads(path.read_text())["metrics"]
    assert len(again.runs) == len(failing.runs)


def test_cli_replay_exits_1_naming_each_failing_metric(failing: HarnessResult, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    recorded = write_report(failing, tmp_path / "first")["json"]
    t = write_thresholds(tmp_path / "t.yaml", thresholds())
    code = main(["eval", "--replay", str(recorded), "--thresholds", str(t),
                 "--report-dir", str(tmp_path / "again")], settings=Settings())
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL: judge.auc = 0.5" in out
    assert "FAIL: personas.crm-outage.in_character_rate" in out
    assert (tmp_path / "again" / "index.html").exists()


def test_cli_replay_exits_0_when_everything_holds(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    good = _result([PERSONAS["crm-outage"]], lexical_evaluate)
    recorded = write_report(good, tmp_path / "first")["json"]
    t = write_thresholds(tmp_path / "t.yaml", thresholds())
    code = main(["eval", "--replay", str(recorded), "--thresholds", str(t),
                 "--report-dir", str(tmp_path / "again")], settings=Settings())
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("PASS (replayed, no model calls)")
    assert "REPLAY: re-scored" in (tmp_path / "again" / "summary.md").read_text()


def test_cli_refuses_a_bad_k_and_a_bad_replay_file(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "-k", "0"], settings=Settings()) == 1
    assert "-k 0" in capsys.readouterr().err
    (tmp_path / "x.json").write_text("{}")
    assert main(["eval", "--replay", str(tmp_path / "x.json")], settings=Settings()) == 1
    assert "not a results.json" in capsys.readouterr().err


def test_cli_character_dir_writes_every_reply_for_reading(failing: HarnessResult, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    recorded = write_report(failing, tmp_path / "first")["json"]
    t = write_thresholds(tmp_path / "t.yaml", thresholds())
    main(["eval", "--replay", str(recorded), "--thresholds", str(t), "--report-dir",
          str(tmp_path / "again"), "--character-dir", str(tmp_path / "replies")],
         settings=Settings())
    assert "every reply:" in capsys.readouterr().out
    records = [json.loads(line) for line in
               (tmp_path / "replies" / "results.jsonl").read_text().splitlines()]
    assert len(records) == sum(len(r.replies) for r in failing.runs)
    md = (tmp_path / "replies" / "summary.md").read_text()
    assert "## In character (adversarial turns)" in md
    assert "## Rung moves (scripted trainees)" in md
    # The persona that admits being an AI: the engine gave up, and the reading says so.
    gave_up = [r for r in records if r["persona"] == "crm-outage" and r["reply"] is None]
    assert gave_up and all(r["problems"] for r in gave_up)
    assert "(gave up: ai" in md
    sound = [r for r in records if r["persona"] == "alv-raportti"]
    assert sound and all(r["reply"] and r["reply"] in md for r in sound)


def test_cli_no_model_runs_the_detectors_on_the_chosen_cases(tmp_path: Path) -> None:
    t = write_thresholds(tmp_path / "t.yaml", thresholds())
    code = main(["eval", "--no-model", "--case", "en-good-crm-outage", "--case",
                 "en-bad-polite-jargon", "--report-dir", str(tmp_path), "--thresholds", str(t),
                 "--quiet"], settings=Settings())
    result = HarnessResult.model_validate_json((tmp_path / "results.json").read_text())
    assert code in (0, 1)
    assert result.sections == ["judge"] and result.eval_model.startswith("none")
    assert result.backend.startswith("no model")
    assert {e.item_id for e in result.evaluations} == {"en-good-crm-outage",
                                                       "en-bad-polite-jargon"}
    assert result.metrics["judge.verbatim_quote_share"] == 1.0


def test_cli_no_model_refuses_the_persona_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--no-model", "--only", "personas"], settings=Settings()) == 1
    assert "--no-model" in capsys.readouterr().err


def test_scripts_are_chosen_by_id() -> None:
    # Only the persona section: its engine is built lazily, so no model starts here.
    inputs = inputs_from_settings(Settings(), ["personas"], ["crm-outage"], progress=False)
    some = inputs.scripts[0].id
    chosen = inputs_from_settings(Settings(), ["personas"], ["crm-outage"], script_ids=[some],
                                  progress=False)
    assert [s.id for s in chosen.scripts] == [some]
    with pytest.raises(ConfigError, match="no script 'nope'"):
        inputs_from_settings(Settings(), ["personas"], script_ids=["nope"], progress=False)
