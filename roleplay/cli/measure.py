"""Commands that measure roleplay: the eval harness, the benchmark, the appraisal classifier."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from roleplay.errors import RoleplayError

if TYPE_CHECKING:
    from pathlib import Path

    from roleplay.config import Settings
    from roleplay.harness.runner import HarnessResult

# --- eval (the harness) ----------------------------------------------------------------

def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Run the harness (or calibrate the judge), write the report, exit 1 naming every
    metric below its threshold."""
    from pathlib import Path

    from roleplay.errors import ConfigError
    from roleplay.harness.coaches import describe
    from roleplay.harness.replies import write_replies
    from roleplay.harness.report import headline, write_report

    if args.k is not None and args.k < 1:
        raise ConfigError(f"-k {args.k}: runs per scripted trainee must be at least 1")
    if args.no_model and args.only == "personas":
        raise ConfigError("--no-model runs the judge section only (the detectors); the "
                          "persona contracts need the customer model")
    if args.dev_set and (args.only == "personas" or args.replay or args.calibrate):
        raise ConfigError("--dev-set measures the judge section on another file of labelled "
                          "calls; use it with --only judge (or no --only), not with --replay "
                          "or --calibrate")
    if args.reviewed and (args.only == "personas" or args.replay or args.calibrate):
        raise ConfigError("--reviewed adds the reviewed calls to a run of the judge section; "
                          "use it with --only judge (or no --only), not with --replay or "
                          "--calibrate")
    if args.calibrate:
        return _eval_calibrate(args, settings)
    if args.only == "advice":
        return _eval_advice(args, settings)
    result = _eval_replay(args, settings) if args.replay else _eval_run(args, settings)
    paths = write_report(result, Path(args.report_dir))
    print(headline(result))
    for line in describe(result.metrics):
        print(line)
    for check in result.failures:
        print(f"  {check.describe()}")
    print(f"report: {paths['html']} (also {paths['markdown'].name}, {paths['json'].name}, "
          f"{paths['junit'].name})")
    if args.character_dir:
        replies = write_replies(result, Path(args.character_dir))
        print(f"every reply: {replies['markdown']} (also {replies['jsonl'].name})")
    return 0 if result.passed else 1


def _eval_run(args: argparse.Namespace, settings: Settings) -> HarnessResult:
    from pathlib import Path

    from roleplay.harness.runner import SECTIONS, Section, run_harness
    from roleplay.harness.setup import inputs_from_settings

    sections: list[Section] = [args.only] if args.only else list(SECTIONS)
    if args.no_model:
        sections = ["judge"]
    inputs = inputs_from_settings(settings, sections, args.persona, args.k,
                                  _thresholds_file(args, settings), progress=not args.quiet,
                                  script_ids=args.script, case_ids=args.case,
                                  judge_model=not args.no_model,
                                  dev_set=Path(args.dev_set) if args.dev_set else None)
    if args.reviewed:
        from roleplay.harness.devset import load_dev_set

        # The coaches' labels: measured beside the development set, never tuned on here.
        inputs.reviewed_calls = load_dev_set(Path(args.reviewed))
    return run_harness(inputs)


def _eval_advice(args: argparse.Namespace, settings: Settings) -> int:
    # Does the advice work? Its own section: a measure, not a gate (issue 13).
    from pathlib import Path

    from roleplay.harness.advice_replay import advice_from_settings, printer, write_advice_report

    result = advice_from_settings(settings, args.persona, args.script, args.k or 1,
                                  printer(args.quiet))
    md = write_advice_report(result, Path(args.report_dir))
    print("\n".join(result.summary()))
    print(f"report: {md} (also results_advice.json)")
    return 0 if result.tally.items else 1


def _eval_replay(args: argparse.Namespace, settings: Settings) -> HarnessResult:
    # Re-scores a recorded run (new thresholds, new report layout) without any model call.
    from pathlib import Path

    from roleplay.errors import ConfigError
    from roleplay.harness.runner import HarnessResult, score
    from roleplay.harness.thresholds import load_thresholds

    try:
        recorded = HarnessResult.model_validate_json(Path(args.replay).read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"--replay {args.replay}: not a results.json of roleplay eval "
                          f"({err})") from None
    result = score(recorded, load_thresholds(_thresholds_file(args, settings)))
    # Said on every page of the report: a replay measures nothing new.
    result.notes.append(f"REPLAY: re-scored {args.replay} (a run started "
                        f"{recorded.started_at:%Y-%m-%d %H:%M} UTC); no model was called")
    return result


def _eval_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    import time
    from pathlib import Path

    from roleplay.harness.calibrate import describe
    from roleplay.harness.setup import calibrate_from_settings

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"  {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    scores = Path(args.report_dir) / "calibration_scores.json"
    results, written = calibrate_from_settings(settings, args.case, scores, progress)
    print(f"calibration of {settings.eval_model}, written to {written} "
          f"(each case's P(yes): {scores}):")
    for line in describe(results):
        print(f"  {line}")
    return 0


def _thresholds_file(args: argparse.Namespace, settings: Settings) -> Path:
    from pathlib import Path

    from roleplay.harness.setup import EvalFiles

    return Path(args.thresholds) if args.thresholds else EvalFiles(settings).thresholds

# --- bench -----------------------------------------------------------------------------

def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    """Time the engine against the bare model server, cold and warm; print the table."""
    from roleplay.bench import main as bench
    from roleplay.personas import find_persona

    persona = find_persona(args.persona or "crm-outage", settings.personas_dir)
    if args.report:
        from roleplay.bench_report import main as report_bench

        print(report_bench(settings, persona, args.pause))
        return 0
    if args.runs < 1:
        raise RoleplayError("--runs must be at least 1")
    print(bench(settings, persona, args.runs))
    return 0

# --- appraise (the appraisal's classifier) ----------------------------------------------

def cmd_appraise_train(args: argparse.Namespace, settings: Settings) -> int:
    """Retrain the appraisal classifier from the dev set on the embedded model's embeddings."""
    from pathlib import Path

    from roleplay.appraisal import MODEL_DIR
    from roleplay.embedding import RECIPES
    from roleplay.harness import moves

    dev = Path(args.dev) if args.dev else settings.evals_dir / "moves" / "dev.jsonl"
    lines = moves.load_lines(dev)
    client = moves.cached_embeddings(settings, RECIPES[args.recipe])
    model, notes = moves.train(lines, client, moves.file_hash(dev))
    out = Path(args.out) if args.out else MODEL_DIR
    model.save(out)
    for note in notes:
        print(note, file=sys.stderr)
    print("cross-validated on dev (lexicon + model, thresholds chosen out of fold):")
    print(moves.render(moves.MoveScores.model_validate(model.meta.cv)))
    print(f"saved to {out}", file=sys.stderr)
    return 0


def cmd_appraise_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Print the shipped classifier's dev CV scores, or measure it on --heldout."""
    from pathlib import Path

    from roleplay.appraisal import AppraisalModel, LexicalAppraiser, ModelAppraiser
    from roleplay.harness import moves

    model = AppraisalModel.load()
    if not args.heldout and not args.file:
        print(f"dev cross-validation recorded at training ({model.meta.trained_at:%Y-%m-%d %H:%M}"
              f" UTC, {model.meta.dev_lines} lines):")
        print(moves.render(moves.MoveScores.model_validate(model.meta.cv)))
        return 0
    path = Path(args.file) if args.file else settings.evals_dir / "moves" / "heldout.jsonl"
    lines = moves.load_lines(path)
    if args.lexicon:
        result = moves.measure(lines, LexicalAppraiser())
    else:
        client = moves.cached_embeddings(settings, model.meta.embedding_recipe)
        client.embed([line.text for line in lines])  # in batches, before one line at a time
        result = moves.measure(lines, ModelAppraiser(client, model))
    print(moves.scores_json(result) if args.json else moves.render(result))
    return 0


# --- parser -----------------------------------------------------------------------------

def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's commands to the `roleplay` parser."""
    from roleplay.embedding import RECIPES

    p = sub.add_parser("eval", help="run the eval harness (persona contracts, judge calibration)")
    p.add_argument("--only", choices=["personas", "judge", "advice"],
                   help="advice: replay the advice given to the scripted bad trainees and "
                   "count how often the rewrite calmed the customer (a measure, no gate)")
    p.add_argument("--persona", action="append", metavar="ID", help="only these personas")
    p.add_argument("--script", action="append", metavar="ID", help="only these scripts")
    p.add_argument("--case", action="append", metavar="ID",
                   help="only these development cases or held-out calls (judge section; "
                   "--calibrate takes development cases only)")
    p.add_argument("-k", type=int, help="runs per scripted trainee (default from thresholds)")
    p.add_argument("--report-dir", default="evals/report")
    p.add_argument("--thresholds", metavar="FILE", help="default thresholds.yaml in ROLEPLAY_EVALS_DIR")
    p.add_argument("--replay", metavar="RESULTS_JSON",
                   help="re-score a recorded results.json against the thresholds; no model calls")
    p.add_argument("--character-dir", metavar="DIR",
                   help="also write every customer reply to DIR (summary.md, results.jsonl)")
    p.add_argument("--no-model", action="store_true",
                   help="judge section with the phrase detectors only: no model call")
    p.add_argument("--calibrate", action="store_true",
                   help="measure the judge's yes/no checks on the development set and write "
                   "calibration.yaml in ROLEPLAY_EVALS_DIR, instead of a harness run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--reviewed", metavar="FILE",
                   help="judge section: also measure agreement with the coaches on these "
                        "reviewed calls (`roleplay sessions export --reviewed --out FILE`)")
    p.add_argument("--dev-set", metavar="FILE",
                   help="judge section: measure on these labelled calls instead of "
                        "evals/datasets/dev.jsonl (e.g. evals/datasets/second_writer.jsonl); "
                        "with --case, only the named ones")
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("bench", help="time the engine against the bare model server")
    p.add_argument("--persona", default=None)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--report", action="store_true", help="time End call to the report")
    p.add_argument("--pause", type=float, default=15.0, help="typing s per line (--report)")
    p.set_defaults(handler=cmd_bench)

    appraise = sub.add_parser("appraise", help="train and measure the appraisal of trainee lines")
    asub = appraise.add_subparsers(dest="appraise_command", required=True)
    p = asub.add_parser("train", help="retrain the classifier from evals/moves/dev.jsonl")
    p.add_argument("--dev", metavar="FILE", help="default evals/moves/dev.jsonl")
    p.add_argument("--out", metavar="DIR", help="default roleplay/appraisal_model")
    p.add_argument("--recipe", default="mean", choices=sorted(RECIPES),
                   help="how lines are embedded: mean-pooled alone (default), or last token "
                        "after an instruction prompt (roleplay.embedding.RECIPES)")
    p.set_defaults(handler=cmd_appraise_train)
    p = asub.add_parser("eval", help="dev CV scores, or measure on --heldout")
    p.add_argument("--heldout", action="store_true", help="measure on evals/moves/heldout.jsonl")
    p.add_argument("--file", metavar="FILE", help="measure on another labelled JSONL file")
    p.add_argument("--lexicon", action="store_true", help="the phrase lists alone, for comparison")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_appraise_eval)
