"""`roleplay` on the command line: the only module that parses arguments.

Each command is a `cmd_*` function taking the parsed arguments and returning an exit code.
Core errors (RoleplayError) are printed as one message, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from roleplay.errors import PersonaError, RoleplayError, TranscriptError

Handler = Callable[[argparse.Namespace], int]


# --- serve -----------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace) -> int:
    raise RoleplayError("`roleplay serve` is not built yet")


# --- chat ------------------------------------------------------------------------------

def cmd_chat(args: argparse.Namespace) -> int:
    raise RoleplayError("`roleplay chat` is not built yet")


# --- personas --------------------------------------------------------------------------

def cmd_personas_list(args: argparse.Namespace) -> int:
    """Print the personas that load; broken files are reported on stderr and exit 1."""
    import json

    from roleplay.config import get_settings
    from roleplay.personas import scan_personas

    personas, problems = scan_personas([get_settings().personas_dir])
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


def cmd_personas_validate(args: argparse.Namespace) -> int:
    """Check persona files: one line per problem on stdout, exit 1 if there is any."""
    from pathlib import Path

    from roleplay.config import get_settings
    from roleplay.personas import scan_personas

    paths = [Path(p) for p in args.paths] or [get_settings().personas_dir]
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


def cmd_personas_schema(args: argparse.Namespace) -> int:
    """Print the persona JSON Schema (also kept as personas/persona.schema.json)."""
    import json

    from roleplay.personas import persona_schema

    print(json.dumps(persona_schema(), ensure_ascii=False, indent=2))
    return 0


# --- sessions --------------------------------------------------------------------------

def cmd_sessions_list(args: argparse.Namespace) -> int:
    raise RoleplayError("`roleplay sessions list` is not built yet")


def cmd_sessions_show(args: argparse.Namespace) -> int:
    raise RoleplayError("`roleplay sessions show` is not built yet")


# --- evaluate --------------------------------------------------------------------------

def cmd_evaluate(args: argparse.Namespace) -> int:
    raise RoleplayError("`roleplay evaluate` is not built yet")


# --- eval (the harness) ----------------------------------------------------------------

def cmd_eval(args: argparse.Namespace) -> int:
    raise RoleplayError("`roleplay eval` is not built yet")


# --- bench -----------------------------------------------------------------------------

def cmd_bench(args: argparse.Namespace) -> int:
    raise RoleplayError("`roleplay bench` is not built yet")


# --- parser ----------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every command."""
    parser = argparse.ArgumentParser(prog="roleplay", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="start the web app (embedded model unless configured)")
    p.add_argument("--host", help="default ROLEPLAY_HOST or 127.0.0.1")
    p.add_argument("--port", type=int, help="default ROLEPLAY_PORT or 7860")
    p.set_defaults(handler=cmd_serve)

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
    p.add_argument("-k", type=int, help="runs per scripted trainee (default from thresholds)")
    p.add_argument("--report-dir", default="evals/report")
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("bench", help="time the engine against the bare model server")
    p.add_argument("--persona", default=None)
    p.add_argument("--runs", type=int, default=3)
    p.set_defaults(handler=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
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
