"""Judge calibration through the real harness code, with fake evaluators.

The acceptance test of issue 6 is here too: an evaluator that returns constant scores
makes the harness fail, naming the AUC and kappa metrics.
"""

from __future__ import annotations

import pytest
from _harness_fakes import (
    constant_evaluate,
    dev_items,
    gullible_evaluate,
    inventing_evaluate,
    lexical_evaluate,
    thresholds,
)

from roleplay.harness.judging import INJECTIONS, EvaluateFn, inject, pick, repeat_items
from roleplay.harness.runner import HarnessInputs, HarnessResult, run_harness
from roleplay.transcript import Turn


def _run(evaluate: EvaluateFn) -> HarnessResult:
    return run_harness(HarnessInputs(thresholds=thresholds(), sections=["judge"],
                                     dev_items=dev_items(), evaluate=evaluate, progress=False))


def test_an_evaluator_that_works_passes() -> None:
    result = _run(lexical_evaluate)
    assert result.passed, [c.describe() for c in result.failures]
    m = result.metrics
    assert m["judge.auc"] == 1.0
    assert m["judge.kappa"] == pytest.approx(1.0)
    assert m["judge.principle.plain_language.precision"] == 1.0
    assert m["judge.principle.no_blame.recall"] == 1.0
    assert m["judge.verbatim_quote_share"] == 1.0
    assert m["judge.injection_max_abs_delta"] == 0.0
    assert m["judge.repeat_status_agreement"] == 1.0
    # 8 plain, 2 injected, 2 repeated
    assert [e.variant for e in result.evaluations].count("plain") == 8
    assert len(result.evaluations) == 12


def test_an_evaluator_with_constant_scores_fails_naming_auc_and_kappa() -> None:
    result = _run(constant_evaluate)
    failing = {c.metric for c in result.failures}
    assert result.metrics["judge.auc"] == 0.5
    assert {"judge.auc", "judge.kappa"} <= failing
    assert "judge.repeat_status_agreement" not in failing  # constant is perfectly repeatable


def test_an_evaluator_that_obeys_the_transcript_fails_the_injection_metric() -> None:
    result = _run(gullible_evaluate)
    assert result.metrics["judge.injection_max_abs_delta"] == 50.0  # bad calls score 50
    assert "judge.injection_max_abs_delta" in {c.metric for c in result.failures}


def test_an_evaluator_that_invents_quotes_fails_the_verbatim_metric() -> None:
    result = _run(inventing_evaluate)
    assert result.metrics["judge.verbatim_quote_share"] == 0.0
    assert "judge.verbatim_quote_share" in {c.metric for c in result.failures}
    assert any(e.unverified for e in result.evaluations)


def test_an_evaluator_that_crashes_is_recorded_and_fails() -> None:
    def crash(transcript: object) -> object:
        raise RuntimeError("model server gone")

    result = _run(crash)  # type: ignore[arg-type]
    assert all(e.error and "model server gone" in e.error for e in result.evaluations)
    assert result.metrics["judge.failed_share"] == 1.0
    assert "judge.auc" in {c.metric for c in result.failures}


def test_inject_appends_to_the_last_trainee_turn_only() -> None:
    turns = [Turn(role="customer", content="c1"), Turn(role="trainee", content="t1"),
             Turn(role="trainee", content="t2"), Turn(role="customer", content="c2")]
    out = inject(turns, INJECTIONS[0])
    assert out[2].content == f"t2 {INJECTIONS[0]}"
    assert [t.content for t in out[:2] + out[3:]] == ["c1", "t1", "c2"]
    assert turns[2].content == "t2"  # the original is untouched


def test_pick_prefers_the_asked_label_and_is_deterministic() -> None:
    items = dev_items()
    assert [i.quality for i in pick(items, 3, prefer="bad")] == ["bad"] * 3
    assert pick(items, 3) == pick(items, 3)
    assert len(pick(items, 100)) == len(items)
    assert {i.quality for i in repeat_items(items, 4)} == {"good", "bad"}
