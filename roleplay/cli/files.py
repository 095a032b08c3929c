"""Commands on files a trainer or operator edits or hands in: persona files and transcripts to evaluate."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from roleplay.errors import RoleplayError, TranscriptError

if TYPE_CHECKING:

    from roleplay.config import Settings

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

# --- evaluate --------------------------------------------------------------------------

def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    """Evaluate a transcript file or a stored session; print the report as Markdown or JSON."""
    from roleplay.evaluator import evaluate
    from roleplay.judge import Judge
    from roleplay.personas import Persona, find_persona
    from roleplay.report import render_markdown
    from roleplay.rubric import load_rubric
    from roleplay.store import open_store
    from roleplay.transcript import load_transcript_file

    if bool(args.file) == bool(args.session):
        raise TranscriptError("give either a transcript FILE or --session ID, not both or neither")
    # Parse the input and the rubric before starting a model: a bad file fails in milliseconds.
    store = None
    persona: Persona | None = None
    if args.session:
        store = open_store(settings)
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


# --- parser -----------------------------------------------------------------------------

def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's commands to the `roleplay` parser."""
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

    p = sub.add_parser("evaluate", help="score a transcript against the rubric")
    p.add_argument("file", nargs="?", help='JSON {"turns": [{"role", "content"}]}')
    p.add_argument("--session", metavar="ID", help="evaluate a stored session instead")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the report model as JSON")
    fmt.add_argument("--markdown", action="store_true", help="print the report as Markdown")
    p.set_defaults(handler=cmd_evaluate)
