"""The eval harness: persona contracts and judge calibration, gated by thresholds.

    inputs = inputs_from_settings(settings, sections=["personas", "judge"])
    result = run_harness(inputs)          # HarnessResult: runs, evaluations, metrics, checks
    write_report(result, Path("evals/report"))
    exit(0 if result.passed else 1)

`roleplay eval` is this, with a progress bar. Modules: contracts (persona runs and their
checks), judging (the evaluator on the development set), metrics, language (which
language a reply is in), thresholds (the gate), runner, report and plots.
"""

from roleplay.harness.runner import HarnessInputs, HarnessResult, run_harness, score
from roleplay.harness.setup import EVALS_DIR, inputs_from_settings

__all__ = ["EVALS_DIR", "HarnessInputs", "HarnessResult", "inputs_from_settings", "run_harness",
           "score"]
