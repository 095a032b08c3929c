"""Persona files: a trainer's description of one upset customer, loaded and validated.

The model below is the contract every other module relies on. Loading turns every problem
in a file (YAML syntax, unknown or missing field, wrong type, unknown rung, empty file, not
UTF-8) into a PersonaError whose lines read `FILE:LINE: FIELD: what is wrong; how to fix it`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from roleplay.errors import PersonaError, Problem
from roleplay.mood import LADDER, Rung
from roleplay.signals import HELPFUL, SignalKind, detect


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

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    """Unique, lowercase with hyphens, e.g. "crm-outage"; used on the command line."""
    title: str = Field(min_length=1)
    """Shown on the scenario card."""
    industry: str = Field(min_length=1)
    """e.g. "software", "telecom", "retail", "travel"."""
    language: str = Field(pattern=r"^[a-z]{2}$")
    """ISO 639-1 code of the language the customer speaks: en, fi, no, lv, hu."""
    difficulty: int = Field(default=2, ge=1, le=5)
    """1 (easy) to 5 (hard), shown on the scenario card."""
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



# --- Loading ---------------------------------------------------------------------------------

PERSONA_SUFFIXES = (".yaml", ".yml")

# Far above any real persona (they are 3-4 KB); the trainer view accepts pasted text.
MAX_PERSONA_CHARS = 100_000

_ID = re.compile(next(m.pattern for m in Persona.model_fields["id"].metadata
                      if getattr(m, "pattern", None)))

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")


class _TextLoader(yaml.SafeLoader):
    """A YAML loader that reads every plain scalar as text, except an empty value.

    Trainers write order numbers (`- 48213`), times (`10:30`, YAML 1.1 base 60) and the
    Norwegian language code (`no`, YAML 1.1 false); read as text they mean what was typed.
    Pydantic still turns "3" into the integer `difficulty` needs.
    """


_TextLoader.yaml_implicit_resolvers = {}
_TextLoader.add_implicit_resolver("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""])


@dataclass(frozen=True)
class _Rule:
    """A problem found by the persona rules, before it is given a file and a line."""

    loc: tuple[str | int, ...]
    message: str
    fix: str


def parse_persona(text: str | bytes, source: str) -> Persona:
    """Validate the text of one persona file; `source` names it in every Problem."""
    if isinstance(text, bytes):
        text = _decode(text, source)
    if len(text) > MAX_PERSONA_CHARS:
        raise PersonaError([Problem(source, None, "(file)",
                                    f"is {len(text)} characters long",
                                    f"keep a persona under {MAX_PERSONA_CHARS} characters")])
    node, data = _parse_yaml(text, source)
    if node is None or data is None:
        raise PersonaError([Problem(source, 1, "(file)", "the file is empty",
                                    "start from a file in personas/ or from "
                                    "`roleplay personas schema`")])
    problems = _structure_problems(node, source)
    if any(p.field == "(alias)" for p in problems):
        raise PersonaError(problems)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        problems.append(Problem(source, node.start_mark.line + 1, "(file)",
                                f"the file is {kind}, not persona fields",
                                "write one field per line at the left margin: `id: ...`, "
                                "`title: ...` (see `roleplay personas schema`)"))
        raise PersonaError(problems)
    try:
        persona = Persona.model_validate(data)
    except ValidationError as err:
        problems += [_problem_from_error(e, node, source) for e in err.errors()]
        raise PersonaError(_in_order(problems)) from None
    problems += [Problem(source, _locate(node, r.loc), _field_name(r.loc), r.message, r.fix)
                 for r in check_rules(persona)]
    if problems:
        raise PersonaError(_in_order(problems))
    return persona


def _in_order(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line or 0)


def load_persona(path: Path) -> Persona:
    """Load and validate one persona file; raise PersonaError naming every problem."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PersonaError([Problem(str(path), None, "(file)", "does not exist",
                                    "check the path (`roleplay personas list` shows the "
                                    "personas that exist)")]) from None
    except OSError as err:
        raise PersonaError([Problem(str(path), None, "(file)",
                                    f"cannot be read ({err.strerror})",
                                    "check that it is a readable file")]) from None
    return parse_persona(raw, str(path))


def scan_personas(paths: Iterable[Path]) -> tuple[dict[str, Persona], list[Problem]]:
    """Load every persona file in `paths` (files or directories); return the good ones and
    every problem, so that one broken file does not hide the others."""
    personas: dict[str, Persona] = {}
    found_in: dict[str, str] = {}
    problems: list[Problem] = []
    for path in _persona_files(paths, problems):
        try:
            persona = load_persona(path)
        except PersonaError as err:
            problems += err.problems
            continue
        if persona.id in personas:
            problems.append(Problem(str(path), _id_line(path), "id",
                                    f"'{persona.id}' is already the id of {found_in[persona.id]}",
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
            inside = sorted(p for p in path.iterdir()
                            if p.suffix in PERSONA_SUFFIXES and p.is_file())
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


def _id_line(path: Path) -> int | None:
    try:
        node, _ = _parse_yaml(path.read_text(encoding="utf-8-sig"), str(path))
    except (PersonaError, OSError, UnicodeDecodeError):
        return None
    return _locate(node, ("id",)) if node is not None else None


def _decode(raw: bytes, source: str) -> str:
    try:
        # utf-8-sig: editors on Windows add a byte order mark; it is still UTF-8.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise PersonaError([Problem(source, line, "(file)",
                                    f"is not UTF-8 text (byte 0x{raw[err.start]:02x})",
                                    "save the file as UTF-8 in your editor")]) from None


def _parse_yaml(text: str, source: str) -> tuple[yaml.Node | None, object]:
    loader = _TextLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as err:
        raise PersonaError([_yaml_problem(err, text, source)]) from None
    except yaml.YAMLError as err:
        raise PersonaError([Problem(source, None, "(yaml)", str(err),
                                    "fix the YAML syntax")]) from None
    finally:
        loader.dispose()
    return node, data


def _yaml_problem(err: yaml.MarkedYAMLError, text: str, source: str) -> Problem:
    what = " ".join(p for p in (err.context, err.problem) if p)
    # An unclosed quote or bracket is only noticed at the end of the file; the line where it
    # opened is the one to fix.
    at_end = "end of stream" in what or "<stream end>" in what
    opened = at_end and err.context_mark is not None
    mark = err.context_mark if opened else (err.problem_mark or err.context_mark)
    line = mark.line + 1 if mark else None
    if at_end and line is not None and line > len(text.splitlines()):
        # Even the context is at the end (an unclosed `[`): the last written line is nearest.
        line = max((i for i, t in enumerate(text.splitlines(), 1) if t.strip()), default=1)
    if opened:
        fix = "close the quote or bracket that opens on this line"
    elif "\\t" in what:
        fix = "indent with spaces, not tabs"
    elif "mapping values are not allowed" in what:
        fix = "put the text in quotes: it contains ': ', which YAML reads as a new field"
    elif "expected a single document" in what:
        fix = "keep one persona per file: remove the second `---`"
    elif "found undefined alias" in what or "unhashable" in what:
        fix = "remove the `*` or `&` (anchors are not needed in persona files) or quote the text"
    elif "found character" in what and ("'@'" in what or "'`'" in what):
        fix = "put the text in quotes: YAML cannot start plain text with @ or `"
    else:
        fix = "check the indentation and the quotes on this line and the one before it"
    return Problem(source, line, "(yaml)", f"not valid YAML: {what}", fix)


def _structure_problems(node: yaml.Node, source: str) -> list[Problem]:
    """Return duplicate keys and aliases: YAML allows both, persona files must not use them."""
    # PyYAML keeps the last of two equal keys silently; a trainer loses the first one.
    # An alias (`*name`) makes the composed tree a graph, and nested aliases can make
    # validation exponential ("billion laughs"); persona files have no use for them.
    problems: list[Problem] = []
    stack = [node]
    visited: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in visited:
            problems.append(Problem(source, current.start_mark.line + 1, "(alias)",
                                    "repeats a value with a YAML anchor and alias (`&`, `*`)",
                                    "write the value out in full"))
            break
        visited.add(id(current))
        if isinstance(current, yaml.MappingNode):
            seen: dict[object, int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    line = key.start_mark.line + 1
                    if key.value in seen:
                        problems.append(Problem(source, line, str(key.value),
                                                f"appears twice (first on line {seen[key.value]})",
                                                "keep one of the two; the second one would "
                                                "silently replace the first"))
                    else:
                        seen[key.value] = line
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return problems


def _locate(node: yaml.Node, loc: tuple[str | int, ...]) -> int:
    """Return the line of the deepest part of `loc` the file has (a key's line for fields)."""
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next(((k, v) for k, v in node.value
                          if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _field_name(loc: tuple[str | int, ...]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name or "(file)"


# --- Messages for validation errors ------------------------------------------------------------

def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """Return the model whose fields live at `loc` (the persona itself for the top level)."""
    model: type[BaseModel] = Persona
    for part in loc:
        if isinstance(part, int):
            continue
        field = _fields(model).get(part)
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return None
    return model


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    return {(f.alias or name): f for name, f in model.model_fields.items()}


def _field(loc: tuple[str | int, ...]) -> FieldInfo | None:
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return None
    parent = _model_at(tuple(names[:-1]))
    return _fields(parent).get(names[-1]) if parent else None


def _allowed(model: type[BaseModel]) -> str:
    return ", ".join(_fields(model))


def _problem_from_error(err: ErrorDetails, node: yaml.Node, source: str) -> Problem:
    loc = tuple(err["loc"])
    message, fix = _explain(err, loc)
    return Problem(source, _locate(node, loc), _field_name(loc), message, fix)


def _explain(err: ErrorDetails, loc: tuple[str | int, ...]) -> tuple[str, str]:
    kind, value = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    last = loc[-1] if loc else ""
    if kind == "missing":
        field = _field(loc)
        about = f" ({field.description.rstrip('.')})" if field and field.description else ""
        group = _model_at(loc)
        inner = f" with {_allowed(group)} below it" if group else ""
        return "is missing", f"add `{last}:`{inner}{about}"
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1]) or Persona
        names = list(_fields(parent))
        close = difflib.get_close_matches(str(last), names, n=1)
        where = "a persona" if parent is Persona else f"`{_field_name(loc[:-1])}`"
        if close:
            return f"is not a field of {where}", f"did you mean `{close[0]}`?"
        return f"is not a field of {where}", f"remove it; the fields here are {_allowed(parent)}"
    if kind == "enum":
        return _explain_enum(value, loc)
    if kind in ("string_type", "string_too_short"):
        return _explain_text(value)
    if kind in ("list_type", "too_short"):
        if isinstance(value, str):
            return "is one text, not a list", "write each item on its own line starting with `- `"
        return "needs at least one item", "add one or more lines starting with `- ` below it"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        model = _model_at(loc)
        inner = f": {_allowed(model)}" if model else ""
        fix = f"put its fields on the lines below it, indented by two spaces{inner}"
        return "should be a group of fields", fix
    if kind == "string_pattern_mismatch":
        if last == "id":
            return (f"'{value}' is not a valid id",
                    "use lowercase letters, digits and hyphens, e.g. `crm-outage`")
        if last == "language":
            return (f"'{value}' is not a language code",
                    "use a two-letter lowercase ISO 639-1 code: en, fi, no, lv, hu")
    if kind in ("int_parsing", "int_type", "int_from_float", "greater_than_equal",
                "less_than_equal"):
        low, high = _bounds(loc)
        return f"'{value}' is not a whole number from {low} to {high}", \
            f"write a whole number from {low} to {high}"
    detail = err["msg"] + (f" ({ctx})" if ctx else "")
    return detail, "see `roleplay personas schema` for the expected form"


def _explain_enum(value: object, loc: tuple[str | int, ...]) -> tuple[str, str]:
    if loc and loc[0] in ("lowers", "raises"):
        names = [k.value for k in SignalKind]
        what = "trainee move"
    else:
        names = [r.value for r in Rung]
        what = "rung"
    close = difflib.get_close_matches(str(value).strip().lower().replace(" ", "_"), names, n=1)
    hint = f"did you mean `{close[0]}`? " if close else ""
    return f"'{value}' is not a {what}", f"{hint}use one of: {', '.join(names)}"


def _explain_text(value: object) -> tuple[str, str]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "is empty", "write the text after the colon"
    if isinstance(value, dict):
        return ("was read as a group of fields because the text contains ': '",
                "put the whole text in double quotes")
    if isinstance(value, list):
        return "is a list, but should be one text", \
            "write the text after the colon (use `>` and indented lines for a long text)"
    return f"'{value}' is not text", "put it in double quotes"


def _bounds(loc: tuple[str | int, ...]) -> tuple[int, int]:
    field = _field(loc)
    low, high = 1, 5
    for meta in field.metadata if field else []:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return low, high


# --- Rules beyond the types ------------------------------------------------------------------

_SPEAKERS_RESERVED = {"agent", "trainee", "customer", "system", "assistant", "user"}


def check_rules(persona: Persona) -> list[_Rule]:
    """Return what is wrong with a well-typed persona as a scenario for the simulator."""
    rules = _speaker_rules(persona) + _one_line_rules(persona) + _move_rules(persona)
    return rules + _profanity_rules(persona)


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

# What each trainee move means, for editors' hover text (the lexicons decide what matches).
SIGNAL_HELP: dict[SignalKind, str] = {
    SignalKind.EMPATHY: "helpful: acknowledges the customer's feelings",
    SignalKind.APOLOGY: "helpful: apologises",
    SignalKind.URGENCY: "helpful: acknowledges that time or money is being lost",
    SignalKind.NEXT_STEP: "helpful: says concretely what happens next and who does it",
    SignalKind.TIME_COMMITMENT: "helpful: gives a time or a deadline",
    SignalKind.OWNERSHIP: "helpful: takes the problem on personally",
    SignalKind.LISTENING: "helpful: asks a clarifying question or reflects back",
    SignalKind.BOUNDARY: "helpful: sets a respectful boundary about cursing or attacks",
    SignalKind.CALLBACK_OFFER: "helpful: offers to end the call and call back when calmer",
    SignalKind.FOLLOW_UP: "helpful: promises to check back or confirm in writing",
    SignalKind.PERSONAL: "helpful: uses the customer's name, remembers their details",
    SignalKind.POLICY_NO: "helpful: declines within policy and offers an alternative",
    SignalKind.ARGUING: "harmful: contradicts, debates the facts, needs to win",
    SignalKind.BLAME: "harmful: blames the customer",
    SignalKind.CORRECTING: "harmful: corrects the customer needlessly",
    SignalKind.JARGON: "harmful: company or technical jargon and acronyms",
    SignalKind.TRANSFER: "harmful: hands the customer to someone else",
    SignalKind.DISMISSIVE: "harmful: 'calm down', 'nothing I can do', brushes it off",
    SignalKind.GIVING_AWAY: "harmful: gives more than policy allows to stop the anger",
    SignalKind.PROFANITY: "harmful: the trainee swears",
    SignalKind.WINNING: "harmful: insists on being right, wants the last word",
    SignalKind.HOSTILE: "harmful: loses composure: rude, sarcastic, shouting",
    SignalKind.INTERRUPTING: "harmful: cuts the customer off, answers before listening",
    SignalKind.VAGUE: "harmful: no decision or no time ('someone will get back to you')",
    SignalKind.SELF_FOCUS: "harmful: puts the agent's or company's convenience first",
    SignalKind.FACE_SAVING: "helpful: frames a needed correction as a mistake anyone makes",
    SignalKind.GUIDING: "helpful: adapts to how the customer learns, step by step",
}


def signal_help(kind: SignalKind) -> str:
    """Return what a trainee move means, for people writing `lowers` and `raises`."""
    default = "helpful move" if kind in HELPFUL else "harmful move"
    return SIGNAL_HELP.get(kind, default)


def persona_schema() -> dict[str, Any]:
    """Return the JSON Schema of a persona file, with descriptions for editors' hover text."""
    schema = Persona.model_json_schema(by_alias=True)
    kinds = schema["$defs"]["SignalKind"]
    kinds["description"] = "A trainee move, as the lexical detectors find it."
    kinds["enumDescriptions"] = [signal_help(SignalKind(v)) for v in kinds["enum"]]
    kinds["markdownEnumDescriptions"] = kinds["enumDescriptions"]
    schema["$defs"]["Rung"]["description"] = "A step of the mood ladder, calmest first."
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
