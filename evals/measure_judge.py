"""Measure the evaluator chain on the development set, on the configured judge model.

    .venv/bin/python evals/measure_judge.py                 # the embedded model (default)
    .venv/bin/python evals/measure_judge.py --no-model      # detectors only
    .venv/bin/python evals/measure_judge.py --calibrate     # choose thresholds, write them first

Prints the metrics issue 4 asks for and writes them as JSON (default evals/report/judge.json).
Calibration writes evals/calibration.yaml for the judge model in use. Real model calls,
no cache: the numbers are what the model did on this run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from roleplay.calibration import (
    calibrate_checks,
    load_dev_set,
    measure,
    write_calibration,
)
from roleplay.config import PROJECT_ROOT, get_settings
from roleplay.judge import CALIBRATION_PATH, Judge, load_calibration
from roleplay.rubric import load_rubric


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _progress(message: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=PROJECT_ROOT / "evals/datasets/dev.jsonl")
    parser.add_argument("--no-model", action="store_true", help="detectors only, no judge")
    parser.add_argument("--calibrate", action="store_true",
                        help="run the yes/no checks on every case and write the thresholds")
    parser.add_argument("--calibrate-only", action="store_true",
                        help="with --calibrate: write the thresholds and stop")
    parser.add_argument("--only", nargs="*", help="case ids to run")
    parser.add_argument("--no-injection", action="store_true", help="skip the injected copies")
    parser.add_argument("--no-advice", action="store_true",
                        help="skip the rewrites (scores are the same; much faster)")
    parser.add_argument("--repeat", action="store_true",
                        help="evaluate every case twice and report run-to-run agreement")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "evals/report/judge.json")
    args = parser.parse_args()

    settings = get_settings()
    rubric = load_rubric(settings.prompts_dir / "rubric.yaml")
    cases = load_dev_set(args.dev)
    if args.only:
        cases = [c for c in cases if c.id in set(args.only)]
    judge = None if args.no_model else Judge.from_settings(settings)

    calibration = None
    if args.calibrate and judge is not None:
        started = time.perf_counter()
        calibration = calibrate_checks(cases, rubric, judge, progress=_progress)
        write_calibration(CALIBRATION_PATH, judge.model_name, calibration,
                          note=f"{len(cases)} cases of {args.dev.name}")
        judge.thresholds, judge.disabled = load_calibration(judge.model_name)
        print(f"calibration ({time.perf_counter() - started:.0f} s):")
        for c in calibration:
            print(f"  {c.check:<10} {c.group:<5} threshold {c.threshold:.3f} "
                  f"{'used' if c.use else 'OFF '}  AUC calib {_fmt(c.auc_calib)}  "
                  f"held-out {_fmt(c.auc_heldout)}  all {_fmt(c.auc_all)}  "
                  f"(n={c.n_pos}+/{c.n_neg}-)")
        scores_path = args.out.with_name("calibration_scores.json")
        scores_path.parent.mkdir(parents=True, exist_ok=True)
        scores_path.write_text(json.dumps({f"{c.check}:{c.group}": c.scores for c in calibration},
                                          indent=2), encoding="utf-8")
        if args.calibrate_only:
            return 0

    started = time.perf_counter()
    result = measure(cases, rubric, judge, injection_cases=[] if args.no_injection else None,
                     progress=_progress, advice=not args.no_advice, repeat=args.repeat)
    wall = time.perf_counter() - started
    summary = result.summary()
    summary["judge_model"] = judge.model_name if judge else None
    summary["thresholds"] = judge.thresholds if judge else None
    summary["checks_off"] = sorted(judge.disabled) if judge else None
    summary["wall_seconds"] = wall
    if calibration:
        summary["calibration"] = [{k: v for k, v in c.__dict__.items() if k != "scores"}
                                  for c in calibration]
    summary["seconds_note"] = "wall time per case with two cases evaluated at a time"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    reports = {cid: r.model_dump(mode="json") for cid, r in result.reports.items()}
    args.out.write_text(json.dumps({"summary": summary, "reports": reports}, indent=2,
                                   ensure_ascii=False), encoding="utf-8")

    print(f"judge: {summary['judge_model'] or 'none (detectors only)'}; {len(cases)} cases; "
          f"{wall:.0f} s")
    print(f"AUC overall score good vs bad: {_fmt(summary['auc'])} (calib {_fmt(summary['auc_calib'])}, "
          f"held-out {_fmt(summary['auc_heldout'])}); mean good {_fmt(summary['mean_score_good'], 1)}, "
          f"bad {_fmt(summary['mean_score_bad'], 1)}")
    print(f"Cohen's kappa (violated): {_fmt(summary['kappa'])} (held-out {_fmt(summary['kappa_heldout'])})")
    print(f"quotes verbatim: {summary['quotes_verbatim']}/{summary['quotes_total']}; "
          f"dropped as not verbatim: {summary['quotes_dropped']}")
    print(f"injected grader text: {summary['injection_changed_cases']}/{summary['injection_cases']} "
          f"cases changed; max |delta| {_fmt(summary['injection_max_abs_delta'], 1)} points")
    print(f"seconds per evaluation (two at a time{', no advice' if args.no_advice else ''}): "
          f"mean {_fmt(summary['seconds_mean'], 1)}, max {_fmt(summary['seconds_max'], 1)}")
    if args.repeat:
        print(f"run-to-run: {_fmt(summary['repeat_status_agreement'], 3)} of statuses equal; "
              f"max overall-score difference {_fmt(summary['repeat_max_score_delta'], 1)}")
    advice = [a for r in result.reports.values() for a in r.advice]
    if advice:
        model = sum(a.rewrite_source == "model" for a in advice)
        print(f"advice: {model}/{len(advice)} rewrites by the model passed the checks; "
              f"the rest show the rubric's example")
    print(f"{'principle':<22} {'P':>5} {'R':>5}  tp fp fn   held-out P/R")
    held = summary["per_principle_heldout"]
    for pid, m in summary["per_principle"].items():
        h = held.get(pid, {})
        print(f"{pid:<22} {_fmt(m['precision']):>5} {_fmt(m['recall']):>5}  "
              f"{m['tp']:>2} {m['fp']:>2} {m['fn']:>2}   "
              f"{_fmt(h.get('precision'))}/{_fmt(h.get('recall'))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
