"""`roleplay sessions export --reviewed`: the calls trainers reviewed, as labelled data."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roleplay.config import Settings


def cmd_sessions_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the reviewed calls in the development set's format (JSON lines)."""
    from pathlib import Path

    from roleplay.coaching.db import CoachingStore
    from roleplay.coaching.labels import dev_set_lines, reviewed_cases
    from roleplay.errors import ConfigError
    from roleplay.store import open_store

    if not args.reviewed:
        raise ConfigError("sessions export writes the reviewed calls: add --reviewed")
    store = open_store(settings)
    cases = reviewed_cases(store, CoachingStore.beside(store))
    text = dev_set_lines(cases)
    if args.out in (None, "-"):
        sys.stdout.write(text)
    else:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"--out {args.out}: cannot write it: {err}") from None
        print(f"{len(cases)} reviewed call(s) written to {args.out}; measure the judge on "
              f"them with `roleplay eval --only judge --reviewed {args.out}`", file=sys.stderr)
    return 0


def add_export(ssub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `export` to the `sessions` subcommands."""
    p = ssub.add_parser("export", help="write the calls trainers reviewed as labelled data")
    p.add_argument("--reviewed", action="store_true",
                   help="the reviewed calls, labelled by the coach (dev-set JSONL format)")
    p.add_argument("--out", metavar="FILE", help="default: standard output")
    p.set_defaults(handler=cmd_sessions_export)
