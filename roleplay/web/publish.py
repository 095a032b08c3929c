"""Publishing a trainer's persona: validate it, refuse to overwrite by accident, write it.

The personas directory is read by every running app and by the CLI, so a file lands there
only whole and only valid: it is written beside its final name and renamed into place.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from roleplay.errors import PersonaError, Problem
from roleplay.personas import Persona, parse_persona, scan_personas

log = logging.getLogger(__name__)

# How the pasted text is named in validation messages; the trainer sees no file name.
PASTED = "persona"


@dataclass(frozen=True)
class Published:
    """Where a persona was written, and whether an existing one was replaced."""

    persona: Persona
    path: Path
    replaced: bool


def existing_file(persona_id: str, personas_dir: Path) -> Path | None:
    """The file in `personas_dir` that already holds `persona_id`, if any."""
    for suffix in (".yaml", ".yml"):
        path = personas_dir / f"{persona_id}{suffix}"
        if path.is_file():
            return path
    # A persona's id need not match its file name; a full scan finds those too.
    personas, _ = scan_personas([personas_dir])
    if persona_id in personas:
        for path in sorted(personas_dir.glob("*.y*ml")):
            try:
                if parse_persona(path.read_bytes(), str(path)).id == persona_id:
                    return path
            except (PersonaError, OSError):
                continue
    return None


def publish_persona(text: str, personas_dir: Path, replace: bool = False) -> Published:
    """Validate `text` and write it to `personas_dir`; PersonaError if invalid or the id is taken.

    An existing persona with the same id is replaced only when `replace` is True.
    """
    persona = parse_persona(text, PASTED)
    target = existing_file(persona.id, personas_dir)
    if target is not None and not replace:
        raise PersonaError([Problem(
            PASTED, _id_line(text), "id",
            f"a persona with the id '{persona.id}' already exists ({target.name})",
            "tick 'Replace the existing persona' to overwrite it, or change the id")])
    path = target or personas_dir / f"{persona.id}.yaml"
    tmp = ""
    try:
        personas_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=personas_dir, prefix=f".{persona.id}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text if text.endswith("\n") else text + "\n")
        os.replace(tmp, path)
    except OSError as err:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        # The page gets the reason without the server's path; the log keeps the whole error.
        log.warning("cannot publish %s: %s", path, err)
        raise PersonaError([Problem(path.name, None, "(file)",
                                    f"cannot be written ({err.strerror or 'write failed'})",
                                    "ask whoever runs the app to make the personas folder "
                                    "writable for it")]) from None
    return Published(persona=persona, path=path, replaced=target is not None)


def _id_line(text: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("id:"):
            return number
    return None
