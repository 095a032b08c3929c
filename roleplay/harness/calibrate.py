"""Calibrating the judge's yes/no checks on the development set (`roleplay eval --calibrate`).

For each model check of the rubric, every case's trainee turns are asked (masked exactly
as the evaluator masks them) and the case's highest P(yes) is its score; per language
group the threshold is chosen on the `calib` split (Youden's J), and the check is switched
off for a group whose calib AUC is below MIN_AUC. The held-out AUC is reported, never used,
and so are the AUCs of each language of a group (a group's threshold is one for all of its
languages, but a language where the check does not work shows there). Only the development
set is read: the held-out calls of `evals/moves/heldout_calls.jsonl` are never calibrated on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from roleplay.evidence import mask_grader_text
from roleplay.harness.calibration import (
    GROUPS,
    MIN_AUC,
    CheckCalibration,
    LanguageFigures,
    language_group,
    write_calibration,
)
from roleplay.harness.devset import DevCase
from roleplay.harness.judging import in_report_order
from roleplay.harness.metrics import auc, youden_threshold
from roleplay.judge import Judge
from roleplay.rubric import Rubric
from roleplay.transcript import Transcript


def _max_p_yes(judge: Judge, question: str, transcript: Transcript) -> float | None:
    """Highest P(yes) over the trainee turns (the evaluator counts any turn above threshold)."""
    best: float | None = None
    previous = ""
    for turn in transcript.turns:
        # The model never sees text addressed to the grader, here as in the evaluator.
        text = mask_grader_text(turn.content)
        if turn.role == "customer":
            previous = text
            continue
        if not text:
            continue
        result = judge.p_yes(question, previous, text)
        if result.p_yes is not None:
            best = result.p_yes if best is None else max(best, result.p_yes)
    return best


def _by_label(cases: Sequence[DevCase], scores: dict[str, float], principle: str,
              split: str | None) -> tuple[list[float], list[float]]:
    """Scores of cases where `principle` is not violated (positives) and where it is."""
    chosen = [c for c in cases if c.id in scores and (split is None or c.split == split)]
    return ([scores[c.id] for c in chosen if principle not in c.violated],
            [scores[c.id] for c in chosen if principle in c.violated])


def _separation(cases: Sequence[DevCase], scores: dict[str, float],
                principle: str) -> LanguageFigures:
    """The AUCs of one check on `cases` (calib, held-out, all) and how many cases there are."""
    pos, neg = _by_label(cases, scores, principle, None)
    return LanguageFigures(auc_calib=auc(*_by_label(cases, scores, principle, "calib")),
                           auc_heldout=auc(*_by_label(cases, scores, principle, "heldout")),
                           auc_all=auc(pos, neg), n_pos=len(pos), n_neg=len(neg))


def calibrate_checks(cases: Sequence[DevCase], rubric: Rubric, judge: Judge,
                     progress: Callable[[str], None] | None = None,
                     workers: int = 2) -> list[CheckCalibration]:
    """Return, per model check and language group, the threshold chosen on `calib`."""
    out = []
    for check, model_check in rubric.model_checks.items():
        principles = [p.id for p in rubric.principles if p.evidence.model_check == check]
        if not principles:
            continue
        pid = principles[0]

        def score(case: DevCase, check: str = check,
                  question: str = model_check.question) -> tuple[str, float | None]:
            if progress:
                progress(f"{check}: {case.id}")
            return case.id, _max_p_yes(judge, question, case.transcript())

        # Two at a time: the embedded server has two parallel slots.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            scores = {cid: p for cid, p in pool.map(score, cases) if p is not None}
        for group in GROUPS:
            members = [c for c in cases if language_group(c.language) == group]
            pos_c, neg_c = _by_label(members, scores, pid, "calib")
            whole = _separation(members, scores, pid)
            languages = {code: _separation([c for c in members if c.language == code], scores, pid)
                         for code in in_report_order({c.language for c in members})}
            out.append(CheckCalibration(
                check=check, principle=pid, group=group,
                threshold=youden_threshold(pos_c, neg_c),
                use=whole.auc_calib is not None and whole.auc_calib >= MIN_AUC,
                auc_calib=whole.auc_calib, auc_heldout=whole.auc_heldout, auc_all=whole.auc_all,
                n_pos=whole.n_pos, n_neg=whole.n_neg, languages=languages,
                scores={c.id: scores[c.id] for c in members if c.id in scores}))
    return out


def calibrate(cases: Sequence[DevCase], rubric: Rubric, judge: Judge, calibration_file: Path,
              scores_file: Path | None = None, note: str = "",
              progress: Callable[[str], None] | None = None) -> list[CheckCalibration]:
    """Calibrate every check, write `calibration_file` (and each case's P(yes) to `scores_file`)."""
    results = calibrate_checks(cases, rubric, judge, progress=progress)
    write_calibration(calibration_file, judge.model_name, results,
                      note=note or f"{len(cases)} development cases")
    if scores_file is not None:
        scores_file.parent.mkdir(parents=True, exist_ok=True)
        scores_file.write_text(json.dumps({f"{r.check}:{r.group}": r.scores for r in results},
                                          indent=2), encoding="utf-8")
    return results


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def describe(results: Sequence[CheckCalibration]) -> list[str]:
    """One line per check and group (threshold, used or off, the AUCs), then one per language."""
    lines = []
    for r in results:
        lines.append(f"{r.check:<10} {r.group:<5} threshold {r.threshold:.3f} "
                     f"{'used' if r.use else 'OFF '}  {_aucs(r.auc_calib, r.auc_heldout, r.auc_all)}"
                     f"  (n={r.n_pos}+/{r.n_neg}-)")
        lines += [f"{'':<10}   {code:<3} {'':<20}  {_aucs(f.auc_calib, f.auc_heldout, f.auc_all)}"
                  f"  (n={f.n_pos}+/{f.n_neg}-)" for code, f in r.languages.items()]
    return lines


def _aucs(calib: float | None, heldout: float | None, everything: float | None) -> str:
    return f"AUC calib {_fmt(calib)}  held-out {_fmt(heldout)}  all {_fmt(everything)}"
