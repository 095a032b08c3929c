"""Persona files: a trainer's description of one upset customer, loaded and validated.

The model below is the contract every other module relies on. Loading (`roleplay.yamlfile`)
turns every problem in a file (YAML syntax, unknown or missing field, wrong type, unknown
rung, empty file, not UTF-8, NUL bytes, deep nesting) into a PersonaError whose lines read
`FILE:LINE: FIELD: what is wrong; how to fix it`; the persona's own rules follow here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import ErrorDetails

from roleplay.errors import PersonaError, Problem
from roleplay.mood import (
    CALM_TURNS,
    LADDER,
    Heard,
    MoodChange,
    Patience,
    Rung,
    next_rung,
    turns_to_calm,
)
from roleplay.signals import MOVES, Signal, SignalKind, detect
from roleplay.validation import one_of
from roleplay.yamlfile import Document, YamlKind

# An id names the persona's file (`ID.yaml`) and its address in the web app; 64 characters
# keep both far inside every file system's limit of 255 bytes per name.
MAX_ID_CHARS = 64


class Customer(BaseModel):
    """Who is calling and what happened to them."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True,
                              str_strip_whitespace=True)

    name: str = Field(min_length=1)
    """The customer's name as it appears in the transcript, e.g. "Maria Lind"."""
    situation: str = Field(min_length=1)
    """What went wrong, in two or three sentences."""
    wants: str = Field(min_length=1)
    """What the customer wants from this call."""
    facts: list[str] = Field(default_factory=list)
    """Things the customer knows and may be asked for: order numbers, dates, amounts."""


class Policy(BaseModel):
    """What the company allows the trainee to offer."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True,
                              str_strip_whitespace=True)

    may_offer: list[str] = Field(default_factory=list)
    """Remedies within policy, e.g. "a technician visit within 4 hours"."""
    must_not_offer: list[str] = Field(default_factory=list)
    """Things beyond policy, e.g. "a free month of service"."""


class RungBehaviour(BaseModel):
    """How the customer talks on one rung."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True,
                              str_strip_whitespace=True)

    behaviour: str = Field(min_length=1)
    """How they sound on this rung, e.g. "sarcastic, polite on the surface"."""
    examples: list[str] = Field(min_length=1)
    """A few lines they might say on this rung (the model is told not to copy them)."""


class Rungs(BaseModel):
    """Behaviour on every rung, so the customer can move anywhere on the ladder."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True,
                              str_strip_whitespace=True)

    calm: RungBehaviour
    passive_angry: RungBehaviour = Field(alias="passive-angry")
    escalated_angry: RungBehaviour = Field(alias="escalated-angry")
    cursing: RungBehaviour

    def for_rung(self, rung: Rung) -> RungBehaviour:
        """Return the behaviour written for `rung`."""
        return {
            Rung.CALM: self.calm,
            Rung.PASSIVE_ANGRY: self.passive_angry,
            Rung.ESCALATED_ANGRY: self.escalated_angry,
            Rung.CURSING: self.cursing,
        }[rung]


class Persona(BaseModel):
    """One scenario: a customer, their problem, and how their mood responds to the trainee."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True,
                              str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=MAX_ID_CHARS)
    """Unique, lowercase with hyphens, e.g. "crm-outage"; used on the command line."""
    title: str = Field(min_length=1)
    """Shown on the scenario card."""
    industry: str = Field(min_length=1)
    """e.g. "software", "telecom", "retail", "travel"."""
    language: str = Field(pattern=r"^[a-z]{2}$")
    """ISO 639-1 code of the language the customer speaks: en, fi, no, lv, hu."""
    difficulty: int = Field(default=2, ge=1, le=5)
    """1 (easy) to 5 (hard), shown on the scenario card; it promises how many good turns
    calm the customer from the start rung: 1-2, 1-3, 2-4, 3-5, 4-6."""
    patience: Patience = Field(default_factory=Patience)
    """How hard the customer is to calm (good turns per rung) and what they remember."""
    company: str = Field(min_length=1)
    """The company the customer is calling."""
    customer: Customer
    policy: Policy = Field(default_factory=Policy)
    start_rung: Rung
    """Where the customer starts: passive-angry, escalated-angry or cursing (or calm)."""
    rungs: Rungs
    lowers: list[SignalKind] = Field(min_length=1)
    """Trainee moves that calm this customer (signal names, see `roleplay personas schema`)."""
    raises: list[SignalKind] = Field(min_length=1)
    """Trainee moves that anger this customer."""
    opening: str = Field(min_length=1)
    """The customer's first line."""
    source: list[str] = Field(default_factory=list)
    """Seed documents the scenario is built on, by file name."""

    @property
    def turns_per_rung(self) -> int:
        """Good turns this customer needs on a rung before stepping down one."""
        return self.patience.need(self.difficulty)

    def mood_change(self, current: Rung, signals: list[Signal],
                    earlier: Sequence[Heard] = ()) -> MoodChange:
        """Apply the ladder (`roleplay.mood.next_rung`) with this customer's rules to a turn."""
        return next_rung(current, signals, self.lowers, self.raises, need=self.turns_per_rung,
                         patience=self.patience, earlier=earlier,
                         name=self.customer.name.split()[0])

    @property
    def calm_in(self) -> int:
        """Good turns from the start rung to calm when every turn is good."""
        return turns_to_calm(self.start_rung, self.turns_per_rung)


# --- Loading ---------------------------------------------------------------------------------

PERSONA_SUFFIXES = (".yaml", ".yml")

# Far above any real persona (they are 3-4 KB); the trainer view accepts pasted text.
MAX_PERSONA_CHARS = 100_000

_ID = re.compile(next(m.pattern for m in Persona.model_fields["id"].metadata
                      if getattr(m, "pattern", None)))


@dataclass(frozen=True)
class _Rule:
    """A problem found by the persona rules, before it is given a file and a line."""

    loc: tuple[str | int, ...]
    message: str
    fix: str


def _explain(err: ErrorDetails, loc: tuple[str | int, ...]) -> tuple[str, str] | None:
    """The persona's own wording: which list a move belongs to, what an id or code looks like."""
    kind, value, last = err["type"], err.get("input"), loc[-1] if loc else ""
    if kind == "enum" and loc and loc[0] in ("lowers", "raises"):
        return one_of(value, [k.value for k in SignalKind], "trainee move")
    if kind == "enum":
        return one_of(value, [r.value for r in Rung], "rung")
    if kind == "string_pattern_mismatch" and last == "id":
        return (f"'{value}' is not a valid id",
                "use lowercase letters, digits and hyphens, e.g. `crm-outage`")
    if kind == "string_too_long" and last == "id":
        return (f"is {len(str(value))} characters long",
                (f"keep it to {MAX_ID_CHARS} characters or fewer: the id names the "
                 "persona's file and its address in the web app"))
    if kind == "string_pattern_mismatch" and last == "language":
        return (f"'{value}' is not a language code",
                "use a two-letter lowercase ISO 639-1 code: en, fi, no, lv, hu")
    return None


def _rules(persona: Persona, document: Document) -> list[Problem]:
    return [document.problem(r.loc, r.message, r.fix) for r in check_rules(persona)]


PERSONA_FILE: YamlKind[Persona] = YamlKind(
    Persona, noun="persona", error=PersonaError, max_chars=MAX_PERSONA_CHARS,
    empty_fix="start from a file in personas/ or from `roleplay personas schema`",
    top_fix="write one field per line at the left margin: `id: ...`, `title: ...` "
            "(see `roleplay personas schema`)",
    hint="see `roleplay personas schema` for the expected form",
    missing_fix="check the path (`roleplay personas list` shows the personas that exist)",
    explain=_explain, check=_rules)
"""How persona files are read; `PERSONA_FILE.parse(text, source).document` has the lines."""


def parse_persona(text: str | bytes, source: str) -> Persona:
    """Validate the text of one persona file; `source` names it in every Problem."""
    return PERSONA_FILE.parse(text, source).model


def load_persona(path: Path) -> Persona:
    """Load and validate one persona file; raise PersonaError naming every problem."""
    return PERSONA_FILE.read(path).model


def scan_personas(paths: Iterable[Path]) -> tuple[dict[str, Persona], list[Problem]]:
    """Load every persona file in `paths` (files or directories); return the good ones and
    every problem, so that one broken file does not hide the others (the scenario picker,
    `personas list` and `personas validate` all read the folder this way)."""
    personas: dict[str, Persona] = {}
    found_in: dict[str, str] = {}
    problems: list[Problem] = []
    for path in _persona_files(paths, problems):
        try:
            loaded = PERSONA_FILE.read(path)
        except PersonaError as err:
            problems += err.problems
            continue
        persona = loaded.model
        if persona.id in personas:
            problems.append(loaded.document.problem(
                ("id",), f"'{persona.id}' is already the id of {found_in[persona.id]}",
                "give every persona its own id"))
            continue
        personas[persona.id] = persona
        found_in[persona.id] = str(path)
    return personas, problems


def load_personas(directory: Path) -> dict[str, Persona]:
    """Load every *.yaml persona in `directory`, keyed by id; raise PersonaError on any problem."""
    personas, problems = scan_personas([directory])
    if problems:
        raise PersonaError(problems)
    return personas


def find_persona(persona_id: str, directory: Path) -> Persona:
    """Return the persona with `persona_id` from `directory`; PersonaError if none has it.

    Broken files other than the one asked for do not stop the lookup: a trainer's draft in
    the directory must not take every scenario down.
    """
    # Only a well-formed id becomes a file name: "../x" must not read outside `directory`.
    candidates = PERSONA_SUFFIXES if _ID.fullmatch(persona_id) else ()
    for suffix in candidates:
        path = directory / f"{persona_id}{suffix}"
        if path.is_file():
            # By convention the file is named after the id; its own problems are the answer.
            persona = load_persona(path)
            if persona.id == persona_id:
                return persona
    personas, problems = scan_personas([directory])
    if persona_id in personas:
        return personas[persona_id]
    known = sorted(personas)
    close = difflib.get_close_matches(persona_id, known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    fix = (f"{hint}known ids: {', '.join(known)}" if known
           else f"add persona files to {directory} or set ROLEPLAY_PERSONAS_DIR")
    broken = f" ({len(problems)} problems in other files: `roleplay personas validate`)" \
        if problems else ""
    raise PersonaError([Problem(str(directory), None, "id",
                                f"no persona has the id '{persona_id}'{broken}", fix)])


def _persona_files(paths: Iterable[Path], problems: list[Problem]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            try:
                inside = sorted(p for p in path.iterdir()
                                if p.suffix in PERSONA_SUFFIXES and p.is_file())
            except OSError as err:
                problems.append(Problem(str(path), None, "(directory)",
                                        f"cannot be read ({err.strerror})",
                                        "check that the directory is readable"))
                continue
            if not inside:
                problems.append(Problem(str(path), None, "(directory)",
                                        "holds no .yaml persona files",
                                        "add persona files or point at another directory"))
            files += inside
        elif path.exists():
            files.append(path)
        else:
            problems.append(Problem(str(path), None, "(file)", "does not exist",
                                    "check the path"))
    return files


# --- Rules beyond the types ------------------------------------------------------------------

_SPEAKERS_RESERVED = {"agent", "trainee", "customer", "system", "assistant", "user"}


def check_rules(persona: Persona) -> list[_Rule]:
    """Return what is wrong with a well-typed persona as a scenario for the simulator."""
    rules = _speaker_rules(persona) + _one_line_rules(persona) + _move_rules(persona)
    return rules + _profanity_rules(persona) + _patience_rules(persona)


def _patience_rules(persona: Persona) -> list[_Rule]:
    # The difficulty on the scenario card is a promise about how long calming takes.
    low, high = CALM_TURNS[persona.difficulty]
    if low <= persona.calm_in <= high:
        return []
    fit = [n for n in range(1, 5) if low <= turns_to_calm(persona.start_rung, n) <= high]
    fix = (f"set `patience: {{turns_per_rung: {fit[0]}}}`" if fit
           else "choose another start_rung") + " or change the difficulty"
    return [_Rule(("patience",) if "patience" in persona.model_fields_set else ("difficulty",),
                  f"calming from {persona.start_rung.value} takes {persona.calm_in} good "
                  f"turns at {persona.turns_per_rung} per rung, outside the {low}-{high} that "
                  f"difficulty {persona.difficulty} promises", fix)]


def _speaker_rules(persona: Persona) -> list[_Rule]:
    # The customer's name is the speaker label of the call transcript the model continues
    # ("Maria Lind: ..."), so it must read as one label.
    name = persona.customer.name.strip()
    loc: tuple[str | int, ...] = ("customer", "name")
    if "\n" in name or ":" in name:
        return [_Rule(loc, "contains a line break or a colon",
                      "write just the name, e.g. `Maria Lind`")]
    if len(name) > 40:
        return [_Rule(loc, f"is {len(name)} characters long", "keep it under 40 characters")]
    if name.lower() in _SPEAKERS_RESERVED:
        return [_Rule(loc, f"'{name}' is a role, not a name",
                      "give the customer a name, e.g. `Maria Lind`")]
    return []


def _one_line_rules(persona: Persona) -> list[_Rule]:
    # Each spoken line is one turn of the transcript; a line break inside one would read as
    # the start of a new speaker's turn.
    lines: list[tuple[tuple[str | int, ...], str]] = [(("opening",), persona.opening)]
    for rung in Rung:
        examples = persona.rungs.for_rung(rung).examples
        lines += [(("rungs", rung.value, "examples", i), text) for i, text in enumerate(examples)]
    return [_Rule(loc, "spans more than one line",
                  "write it on one line (use `>` if you want to wrap it in the file)")
            for loc, text in lines if "\n" in text.strip()]


def _move_rules(persona: Persona) -> list[_Rule]:
    rules: list[_Rule] = []
    for name in ("lowers", "raises"):
        kinds: list[SignalKind] = getattr(persona, name)
        for i, kind in enumerate(kinds):
            if kind in kinds[:i]:
                rules.append(_Rule((name, i), f"'{kind.value}' is listed twice",
                                   "remove the second one"))
    for i, kind in enumerate(persona.raises):
        if kind in persona.lowers:
            rules.append(_Rule(("raises", i), f"'{kind.value}' is also in `lowers`",
                               "decide whether this move calms or angers the customer and keep "
                               "it in one list"))
    if SignalKind.BOUNDARY not in persona.lowers:
        # Source 003: a respectful boundary is what brings a cursing customer back, and every
        # persona can climb to the cursing rung.
        rules.append(_Rule(("lowers",), "does not contain `boundary`",
                           "add `- boundary`: without it a trainee cannot bring the customer "
                           "down from cursing the way source 003 teaches"))
    return rules


def _profanity_rules(persona: Persona) -> list[_Rule]:
    # Profanity belongs to the cursing rung only; an example line shown on a calmer rung
    # teaches the model to swear there.
    lines: list[tuple[tuple[str | int, ...], str]] = []
    if persona.start_rung != Rung.CURSING:
        lines.append((("opening",), persona.opening))
    for rung in LADDER[:-1]:
        examples = persona.rungs.for_rung(rung).examples
        lines += [(("rungs", rung.value, "examples", i), text) for i, text in enumerate(examples)]
    rules = []
    for loc, text in lines:
        words = [s.quote for s in detect(text, language=persona.language)
                 if s.kind == SignalKind.PROFANITY]
        if words:
            where = "an opening on a calmer rung" if loc == ("opening",) else "this rung"
            rules.append(_Rule(loc, f"swears ('{words[0]}') on {where}",
                               "keep profanity to the cursing rung's examples"))
    return rules


# --- JSON Schema for editors -------------------------------------------------------------------

def signal_help(kind: SignalKind) -> str:
    """Return what a trainee move means, for people writing `lowers` and `raises`."""
    # One table says it (`roleplay.moves.MOVES`); the lexicons decide what matches.
    return MOVES[kind].help


def persona_schema() -> dict[str, Any]:
    """Return the JSON Schema of a persona file, with descriptions for editors' hover text."""
    schema = Persona.model_json_schema(by_alias=True)
    kinds = schema["$defs"]["SignalKind"]
    kinds["description"] = "A trainee move, as the lexical detectors find it."
    kinds["enumDescriptions"] = [signal_help(SignalKind(v)) for v in kinds["enum"]]
    kinds["markdownEnumDescriptions"] = kinds["enumDescriptions"]
    schema["$defs"]["Rung"]["description"] = "A step of the mood ladder, calmest first."
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
