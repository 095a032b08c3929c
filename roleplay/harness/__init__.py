"""The eval package: persona contracts, the judge's metrics and calibration, the gate.

    from roleplay.harness.setup import inputs_from_settings
    from roleplay.harness.runner import run_harness
    from roleplay.harness.report import write_report

    inputs = inputs_from_settings(settings, sections=["personas", "judge"])
    result = run_harness(inputs)          # HarnessResult: runs, evaluations, metrics, checks
    write_report(result, Path("evals/report"))
    exit(0 if result.passed else 1)

`roleplay eval` is this, with a progress bar; `roleplay eval --calibrate` runs
`calibrate.calibrate` instead. Modules: contracts (persona runs and their checks), judging
(the evaluator on the development set and the held-out calls, overall and per
language), devset (the one loader of both files), metrics (every metric
function, once), calibration (the judge's calibration file), calibrate (measuring it),
thresholds (the gate), setup (inputs from Settings; every file through `EvalFiles`),
runner, report, replies (every reply written out for reading) and plots.

This file imports nothing: the judge imports `harness.calibration`, and that must not pull
in the runner, the engine or the progress bar.
"""
