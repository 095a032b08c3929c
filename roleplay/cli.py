"""`roleplay` on the command line: the only module that parses arguments.

Each command is a `cmd_*` function taking the parsed arguments and the `Settings` that
`main` read once, and returning an exit code. Core errors (RoleplayError) are printed as one
message, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from roleplay.errors import PersonaError, RoleplayError, TranscriptError

if TYPE_CHECKING:
    from pathlib import Path

    from roleplay.config import Settings
    from roleplay.harness.runner import HarnessResult

Handler = Callable[[argparse.Namespace, "Settings"], int]


# --- serve -----------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the web app until interrupted (the embedded model unless a backend is set)."""
    from roleplay.web.app import app_from_settings, launch_app

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=overrides)
    where = settings.base_url or settings.azure_endpoint or "the embedded model"
    print(f"starting roleplay on {where}…", file=sys.stderr)
    demo, users = app_from_settings(settings)
    login = f"login on, {len(users)} users" if users else "login off (set ROLEPLAY_USERS)"
    print(f"serving http://{settings.host}:{settings.port} ({login})", file=sys.stderr)
    launch_app(demo, settings, users, block=True)
    return 0


# --- users -----------------------------------------------------------------------------

def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    """Add a user or set a password in the users file; the password is stored as its hash."""
    from pathlib import Path

    from roleplay.users import add_user, read_new_password, set_password

    path = Path(args.file) if args.file else settings.users_file
    if path is None:
        raise RoleplayError("no users file: give --file FILE or set ROLEPLAY_USERS")
    password = read_new_password(args.name, args.password_stdin)
    if args.users_command == "add":
        add_user(path, args.name, args.role, password)
    else:
        set_password(path, args.name, password)
    print(f"{args.name}: password hash written to {path}", file=sys.stderr)
    return 0


# --- chat ------------------------------------------------------------------------------

def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """Talk to a persona: interactive, or the trainee lines of --script; --json prints the call."""
    from pathlib import Path

    from roleplay.conversation import ConversationEngine
    from roleplay.terminal import run_chat

    engine = ConversationEngine.from_settings(settings)
    return run_chat(engine, settings, args.persona_id, Path(args.script) if args.script else None,
                    args.json, args.resume, args.user)


# --- personas --------------------------------------------------------------------------

def cmd_personas_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the personas that load; broken files are reported on stderr and exit 1."""
    import json

    from roleplay.personas import scan_personas

    personas, problems = scan_personas([settings.personas_dir])
    rows = [{"id": p.id, "title": p.title, "industry": p.industry, "language": p.language,
             "start_rung": p.start_rung.value}
            for p in sorted(personas.values(), key=lambda p: p.id)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        width = max((len(r["id"]) for r in rows), default=2)
        for r in rows:
            print(f"{r['id']:<{width}}  {r['start_rung']:<15}  {r['language']}  "
                  f"{r['industry']:<10}  {r['title']}")
    # A broken file must not hide the good ones, but it must not pass unnoticed either.
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def cmd_personas_validate(args: argparse.Namespace, settings: Settings) -> int:
    """Check persona files: one line per problem on stdout, exit 1 if there is any."""
    from pathlib import Path

    from roleplay.personas import scan_personas

    paths = [Path(p) for p in args.paths] or [settings.personas_dir]
    personas, problems = scan_personas(paths)
    for problem in problems:
        print(problem)
    if problems:
        files = len({p.file for p in problems})
        print(f"{len(problems)} problem(s) in {files} file(s); {len(personas)} persona(s) valid",
              file=sys.stderr)
        return 1
    print(f"{len(personas)} persona(s) valid", file=sys.stderr)
    return 0


def cmd_personas_schema(args: argparse.Namespace, settings: Settings) -> int:
    """Print the persona JSON Schema (also kept as personas/persona.schema.json)."""
    import json

    from roleplay.personas import persona_schema

    print(json.dumps(persona_schema(), ensure_ascii=False, indent=2))
    return 0


# --- sessions --------------------------------------------------------------------------

def cmd_sessions_list(args: argparse.Namespace, settings: Settings) -> int:
    """List stored sessions, newest first (only --user's when given)."""
    from roleplay.store import SqliteStore
    from roleplay.terminal import run_sessions_list

    return run_sessions_list(SqliteStore(settings.db_path), args.user, args.json)


def cmd_sessions_show(args: argparse.Namespace, settings: Settings) -> int:
    """Print one stored session's turns with rungs and reasons."""
    from roleplay.store import SqliteStore
    from roleplay.terminal import run_sessions_show

    return run_sessions_show(SqliteStore(settings.db_path), args.session_id, args.json)


# --- evaluate --------------------------------------------------------------------------

def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    """Evaluate a transcript file or a stored session; print the report as Markdown or JSON."""
    from roleplay.evaluator import evaluate
    from roleplay.judge import Judge
    from roleplay.personas import Persona, find_persona
    from roleplay.report import render_markdown
    from roleplay.rubric import load_rubric
    from roleplay.store import SqliteStore
    from roleplay.transcript import load_transcript_file

    if bool(args.file) == bool(args.session):
        raise TranscriptError("give either a transcript FILE or --session ID, not both or neither")
    # Parse the input and the rubric before starting a model: a bad file fails in milliseconds.
    store = None
    persona: Persona | None = None
    if args.session:
        store = SqliteStore(settings.db_path)
        transcript = store.load(args.session)
        if not any(t.role == "trainee" and t.content.strip() for t in transcript.turns):
            raise TranscriptError(f"session {args.session} has no trainee turn to evaluate")
        if transcript.persona_id:
            try:
                persona = find_persona(transcript.persona_id, settings.personas_dir)
            except RoleplayError as err:
                print(f"warning: persona {transcript.persona_id!r} not loaded ({err}); "
                      "evaluating without it", file=sys.stderr)
    else:
        transcript = load_transcript_file(args.file)
    rubric = load_rubric(settings.prompts_dir / "rubric.yaml")
    from roleplay.appraisal import appraiser_from_settings  # hears turns with no stored moves

    report = evaluate(transcript, rubric, judge=Judge.from_settings(settings), persona=persona,
                      appraiser=appraiser_from_settings(settings))
    if store is not None and args.session:
        store.save_report(args.session, report)
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(render_markdown(report), end="")
    return 0


# --- eval (the harness) ----------------------------------------------------------------

def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Run the harness (or calibrate the judge), write the report, exit 1 naming every
    metric below its threshold."""
    from pathlib import Path

    from roleplay.errors import ConfigError
    from roleplay.harness.replies import write_replies
    from roleplay.harness.report import headline, write_report

    if args.k is not None and args.k < 1:
        raise ConfigError(f"-k {args.k}: runs per scripted trainee must be at least 1")
    if args.no_model and args.only == "personas":
        raise ConfigError("--no-model runs the judge section only (the detectors); the "
                          "persona contracts need the customer model")
    if args.calibrate:
        return _eval_calibrate(args, settings)
    result = _eval_replay(args, settings) if args.replay else _eval_run(args, settings)
    paths = write_report(result, Path(args.report_dir))
    print(headline(result))
    for check in result.failures:
        print(f"  {check.describe()}")
    print(f"report: {paths['html']} (also {paths['markdown'].name}, {paths['json'].name}, "
          f"{paths['junit'].name})")
    if args.character_dir:
        replies = write_replies(result, Path(args.character_dir))
        print(f"every reply: {replies['markdown']} (also {replies['jsonl'].name})")
    return 0 if result.passed else 1


def _eval_run(args: argparse.Namespace, settings: Settings) -> HarnessResult:
    from roleplay.harness.runner import SECTIONS, Section, run_harness
    from roleplay.harness.setup import inputs_from_settings

    sections: list[Section] = [args.only] if args.only else list(SECTIONS)
    if args.no_model:
        sections = ["judge"]
    inputs = inputs_from_settings(settings, sections, args.persona, args.k,
                                  _thresholds_file(args, settings), progress=not args.quiet,
                                  script_ids=args.script, case_ids=args.case,
                                  judge_model=not args.no_model)
    return run_harness(inputs)


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


# --- parser ----------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every command."""
    parser = argparse.ArgumentParser(prog="roleplay", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="start the web app (embedded model unless configured)")
    p.add_argument("--host", help="default ROLEPLAY_HOST or 127.0.0.1")
    p.add_argument("--port", type=int, help="default ROLEPLAY_PORT or 7860")
    p.set_defaults(handler=cmd_serve)

    users = sub.add_parser("users", help="add web users and set their passwords (hashed)")
    usub = users.add_subparsers(dest="users_command", required=True)
    for name, text in (("add", "add a user"), ("passwd", "set a user's password")):
        p = usub.add_parser(name, help=text)
        p.add_argument("name")
        if name == "add":
            p.add_argument("--role", choices=["trainee", "trainer"], default="trainee")
        p.add_argument("--file", metavar="FILE", help="default ROLEPLAY_USERS")
        p.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin")
        p.set_defaults(handler=cmd_users)

    p = sub.add_parser("chat", help="talk to a persona in the terminal")
    p.add_argument("persona_id")
    p.add_argument("--script", metavar="FILE", help="trainee lines, one per line")
    p.add_argument("--json", action="store_true", help="print the session as JSON")
    p.add_argument("--resume", metavar="SESSION_ID", help="continue a stored session")
    p.add_argument("--user", help="trainee name stored with the session")
    p.set_defaults(handler=cmd_chat)

    personas = sub.add_parser("personas", help="list, validate and describe persona files")
    psub = personas.add_subparsers(dest="personas_command", required=True)
    p = psub.add_parser("list", help="list the personas")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_personas_list)
    p = psub.add_parser("validate", help="check persona files; exit 1 on any problem")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories")
    p.set_defaults(handler=cmd_personas_validate)
    p = psub.add_parser("schema", help="print the persona JSON Schema for editors")
    p.set_defaults(handler=cmd_personas_schema)

    sessions = sub.add_parser("sessions", help="stored sessions")
    ssub = sessions.add_subparsers(dest="sessions_command", required=True)
    p = ssub.add_parser("list", help="list sessions, newest first")
    p.add_argument("--user")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_sessions_list)
    p = ssub.add_parser("show", help="print one session's turns")
    p.add_argument("session_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_sessions_show)

    p = sub.add_parser("evaluate", help="score a transcript against the rubric")
    p.add_argument("file", nargs="?", help='JSON {"turns": [{"role", "content"}]}')
    p.add_argument("--session", metavar="ID", help="evaluate a stored session instead")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the report model as JSON")
    fmt.add_argument("--markdown", action="store_true", help="print the report as Markdown")
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("eval", help="run the eval harness (persona contracts, judge calibration)")
    p.add_argument("--only", choices=["personas", "judge"])
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
    p.add_argument("--recipe", default="mean", choices=["mean", "eol"],
                   help="how lines are embedded: mean-pooled alone (default), or last token "
                        "after an instruction prompt (roleplay.embedding.RECIPES)")
    p.set_defaults(handler=cmd_appraise_train)
    p = asub.add_parser("eval", help="dev CV scores, or measure on --heldout")
    p.add_argument("--heldout", action="store_true", help="measure on evals/moves/heldout.jsonl")
    p.add_argument("--file", metavar="FILE", help="measure on another labelled JSONL file")
    p.add_argument("--lexicon", action="store_true", help="the phrase lists alone, for comparison")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_appraise_eval)
    return parser


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """Run one command with `settings` (default: read from the environment); return its exit code."""
    from roleplay.config import get_settings

    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, settings if settings is not None else get_settings())
    except PersonaError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 1
    except TranscriptError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except RoleplayError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
