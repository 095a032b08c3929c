"""`roleplay` on the command line: the only package that parses arguments.

Each command is a `cmd_*` function taking the parsed arguments and the `Settings` that
`main` read once, and returning an exit code; it lives with its parser lines in the module
of its family (`practice`: serve, users, chat, sessions; `files`: personas, evaluate;
`measure`: eval, bench, appraise; `deploy`: model-server, stand-in, loadtest). Core errors (RoleplayError) are printed here as one
message, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from roleplay.cli import deploy, files, measure, practice
from roleplay.errors import PersonaError, RoleplayError, TranscriptError

if TYPE_CHECKING:
    from roleplay.config import Settings

Handler = Callable[[argparse.Namespace, "Settings"], int]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every command."""
    parser = argparse.ArgumentParser(prog="roleplay", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (practice, files, measure, deploy):
        module.add_commands(sub)
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
