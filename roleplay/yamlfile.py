"""The one loader of the YAML files trainers and operators edit: text in, typed model out.

Personas, the rubric, the users file, the harness thresholds and scripts, and the lexicons
are all read here. Whatever the bytes are, reading ends in one of two ways: a validated
pydantic model, or an error listing every problem found, one `Problem` each, printed as
`FILE:LINE: FIELD: what is wrong; how to fix it`. A parser's own exception (a NUL byte, a
`[` nested 500 deep, an explicit `!!float` tag that does not parse) never gets through.

    PERSONA_FILE = YamlKind(Persona, noun="persona", error=PersonaError, ...)
    loaded = PERSONA_FILE.read(path)         # or .parse(text_or_bytes, source)
    loaded.model                              # the Persona
    loaded.document.problem(loc, what, fix)   # a rule's Problem, on the line of `loc`

`roleplay.validation` words pydantic's errors; a kind adds its own wording with `explain`
and its rules beyond the types with `check`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, NoReturn, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from roleplay.errors import Problem, RoleplayError
from roleplay.validation import Loc, explain, field_name

M = TypeVar("M", bound=BaseModel)
Explain = Callable[[ErrorDetails, Loc], tuple[str, str] | None]
"""A file kind's own wording for a validation error; None falls back to the generic one."""
MakeError = Callable[[list[Problem]], RoleplayError]

# Far deeper than any of our files (personas nest four levels); Python's own recursion limit
# is what a `[` nested 500 deep would hit inside the parser otherwise.
MAX_DEPTH = 32

# What PyYAML's reader refuses (NUL, other control characters, lone surrogates); checked
# first so that the message names the line and the character instead of a stream position.
_NOT_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD"
                            "\U00010000-\U0010FFFF]")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_STR, _SEQ, _MAP, _NULL_TAG = (f"tag:yaml.org,2002:{t}" for t in ("str", "seq", "map", "null"))


class FileProblems(Exception):
    """Problems found while reading; YamlKind and load_data turn it into the caller's error.

    Not a RoleplayError on purpose: it never reaches a user as it is, each file kind says
    which of its errors it becomes (PersonaError, RubricError, ConfigError, ...).
    """

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def joined(kind: Callable[[str], RoleplayError]) -> MakeError:
    """Return an error factory for errors that take one message: the problems, one a line."""
    return lambda problems: kind("\n".join(str(p) for p in problems))


class _TextLoader(yaml.SafeLoader):
    """A YAML loader that reads every plain scalar as text, except an empty value.

    Trainers write order numbers (`- 48213`), times (`10:30`, YAML 1.1 base 60) and the
    Norwegian language code (`no`, YAML 1.1 false); read as text they mean what was typed.
    Pydantic still turns "3" into the integer a field needs. Nesting is capped so that the
    recursive composer cannot run out of stack.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)  # type: ignore[misc, no-any-return]
        finally:
            self._depth -= 1


_TextLoader.yaml_implicit_resolvers = {}
_TextLoader.add_implicit_resolver(_NULL_TAG, _NULL, ["~", "n", "N", ""])


@dataclass(frozen=True)
class Document:
    """A parsed file: its YAML tree (for line numbers) and the plain data built from it."""

    source: str
    node: yaml.Node
    data: object

    def line(self, loc: Loc) -> int:
        """Return the line of the deepest part of `loc` the file has (a key's line for fields)."""
        return locate(self.node, loc)

    def problem(self, loc: Loc, message: str, fix: str) -> Problem:
        """Return a Problem at `loc` of this file."""
        return Problem(self.source, self.line(loc), field_name(loc), message, fix)


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """A validated model and the document it came from (to place later rule problems)."""

    model: M
    document: Document


@dataclass(frozen=True)
class YamlKind(Generic[M]):
    """One kind of file: its model, how it names itself, and the error it raises."""

    model: type[M]
    noun: str
    """What one file holds, e.g. "persona": "is not a field of a persona"."""
    error: MakeError
    """Builds the caller's RoleplayError from the problems."""
    empty_fix: str
    """How to start an empty file."""
    top_fix: str
    """What the top level should look like, for a file that is a list or a single value."""
    hint: str
    """Where to read about the expected form, the fix of last resort."""
    missing_fix: str = "check the path"
    """What to do when the file does not exist."""
    max_chars: int = 100_000
    """Longer text is refused before it is parsed."""
    explain: Explain | None = None
    check: Callable[[M, Document], list[Problem]] | None = None
    """Rules beyond the types, run on a model that validated."""

    def fail(self, problems: list[Problem]) -> NoReturn:
        """Raise the kind's error with `problems` in line order."""
        raise self.error(sorted(problems, key=lambda p: p.line or 0))

    def parse(self, text: str | bytes, source: str) -> Loaded[M]:
        """Validate the text of one file; `source` names it in every Problem."""
        try:
            document = parse_document(text, source, self.max_chars, self.noun)
        except FileProblems as err:
            self.fail(err.problems)
        problems = duplicate_keys(document.node, source)
        if document.data is None:
            self.fail([Problem(source, 1, "(file)", "the file is empty", self.empty_fix)])
        if not isinstance(document.data, dict):
            what = "a list" if isinstance(document.data, list) else "a single value"
            self.fail(problems + [Problem(source, document.node.start_mark.line + 1, "(file)",
                                          f"the file is {what}, not {self.noun} fields",
                                          self.top_fix)])
        try:
            model = self.model.model_validate(document.data)
        except ValidationError as err:
            self.fail(problems + [self._problem(e, document) for e in err.errors()])
        if self.check is not None:
            problems += self.check(model, document)
        if problems:
            self.fail(problems)
        return Loaded(model, document)

    def read(self, path: Path) -> Loaded[M]:
        """Read and validate one file; the kind's error names every problem."""
        try:
            raw = read_capped(path, self.max_chars * 4, self.missing_fix)
        except FileProblems as err:
            self.fail(err.problems)
        return self.parse(raw, str(path))

    def _problem(self, err: ErrorDetails, document: Document) -> Problem:
        loc = tuple(err["loc"])
        said = self.explain(err, loc) if self.explain else None
        message, fix = said or explain(err, loc, self.model, self.noun, self.hint)
        return document.problem(loc, message, fix)


# --- Reading and parsing ------------------------------------------------------------------------

def read_capped(path: Path, max_bytes: int, missing_fix: str = "check the path") -> bytes:
    """Return the bytes of `path`, refusing a file over `max_bytes` before reading it all."""
    source = str(path)
    try:
        with path.open("rb") as file:
            raw = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise FileProblems([Problem(source, None, "(file)", "does not exist",
                                    missing_fix)]) from None
    except IsADirectoryError:
        raise FileProblems([Problem(source, None, "(file)", "is a directory",
                                    "give the path of a file")]) from None
    except OSError as err:
        raise FileProblems([Problem(source, None, "(file)", f"cannot be read ({err.strerror})",
                                    "check that it is a readable file")]) from None
    if len(raw) > max_bytes:
        raise FileProblems([Problem(source, None, "(file)", f"is over {max_bytes} bytes long",
                                    "check that this is the right file")])
    return raw


def decode(raw: bytes, source: str) -> str:
    """Return `raw` as text; a Problem naming the line if it is not UTF-8."""
    try:
        # utf-8-sig: editors on Windows add a byte order mark; it is still UTF-8.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise FileProblems([Problem(source, line, "(file)",
                                    f"is not UTF-8 text (byte 0x{raw[err.start]:02x})",
                                    "save the file as UTF-8 in your editor")]) from None


def check_text(text: str, source: str, max_chars: int, noun: str) -> None:
    """Refuse text that is too long or holds a character no text file has."""
    if len(text) > max_chars:
        raise FileProblems([Problem(source, None, "(file)", f"is {len(text)} characters long",
                                    f"keep a {noun} under {max_chars} characters")])
    bad = bad_character(text)
    if bad:
        line = text.count("\n", 0, bad[0]) + 1
        raise FileProblems([Problem(source, line, "(file)", f"contains {bad[1]}",
                                    "remove it: save the file as plain UTF-8 text")])


def bad_character(text: str) -> tuple[int, str] | None:
    """Return where `text` has a character no text file holds, and what it is; else None."""
    bad = _NOT_PRINTABLE.search(text)
    if bad is None:
        return None
    code = ord(bad.group())
    what = ("an unpaired surrogate (broken text)" if 0xD800 <= code <= 0xDFFF
            else "a NUL byte" if code == 0 else "a control character")
    return bad.start(), f"{what}, U+{code:04X}"


def parse_document(text: str | bytes, source: str, max_chars: int = 100_000,
                   noun: str = "file") -> Document:
    """Return the YAML tree and data of `text`; FileProblems for anything YAML cannot read.

    Anchors and aliases, explicit tags and keys that are not text are refused before any
    value is built: persona files have no use for them, aliases can make validation
    exponential ("billion laughs"), and a tag such as `!!float abc` fails inside the parser.
    """
    if isinstance(text, bytes):
        if len(text) > max_chars * 4:
            raise FileProblems([Problem(source, None, "(file)", f"is {len(text)} bytes long",
                                        f"keep a {noun} under {max_chars} characters")])
        text = decode(text, source)
    check_text(text, source, max_chars, noun)
    loader = _TextLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(source, yaml.ScalarNode(_NULL_TAG, ""), None)
        refused = _refused_nodes(node, source)
        if refused:
            raise FileProblems(refused)
        return Document(source, node, loader.construct_document(node))
    except yaml.MarkedYAMLError as err:
        raise FileProblems([_yaml_problem(err, text, source, noun)]) from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as err:
        # Belt and braces: the checks above leave no known way here.
        raise FileProblems([Problem(source, None, "(yaml)", f"not valid YAML: {err}",
                                    "check the indentation and the quotes")]) from None
    finally:
        loader.dispose()


def _yaml_problem(err: yaml.MarkedYAMLError, text: str, source: str, noun: str) -> Problem:
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
        fix = f"keep one {noun} per file: remove the second `---`"
    elif "found undefined alias" in what:
        fix = f"remove the `*` or `&` (anchors are not needed in {noun} files) or quote the text"
    elif "found character" in what and ("'@'" in what or "'`'" in what):
        fix = "put the text in quotes: YAML cannot start plain text with @ or `"
    elif "nested more than" in what:
        fix = "close the brackets sooner or indent less: no field nests this deep"
    else:
        fix = "check the indentation and the quotes on this line and the one before it"
    return Problem(source, line, "(yaml)", f"not valid YAML: {what}", fix)


def _refused_nodes(node: yaml.Node, source: str) -> list[Problem]:
    """Return the first alias, explicit tag or non-text key: built, each could break."""
    stack, seen = [node], set()
    while stack:
        current = stack.pop()
        line = current.start_mark.line + 1
        if id(current) in seen:
            return [Problem(source, line, "(alias)",
                            "repeats a value with a YAML anchor and alias (`&`, `*`)",
                            "write the value out in full")]
        seen.add(id(current))
        expected = (_MAP if isinstance(current, yaml.MappingNode) else
                    _SEQ if isinstance(current, yaml.SequenceNode) else None)
        if current.tag != expected and (expected or current.tag not in (_STR, _NULL_TAG)):
            return [Problem(source, line, "(yaml)", f"uses the YAML tag {current.tag!r}",
                            "remove the tag (`!...`) and write the plain value")]
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if not (isinstance(key, yaml.ScalarNode) and key.tag == _STR):
                    return [Problem(source, key.start_mark.line + 1, "(yaml)",
                                    "a key is not a plain name",
                                    "write a name before the colon, e.g. `title:`")]
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return []


def duplicate_keys(node: yaml.Node, source: str) -> list[Problem]:
    """Return every key that appears twice in one mapping (YAML keeps the last silently)."""
    problems: list[Problem] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in current.value:
                line = key.start_mark.line + 1
                if key.value in first:
                    problems.append(Problem(source, line, str(key.value),
                                            f"appears twice (first on line {first[key.value]})",
                                            "keep one of the two; the second one would "
                                            "silently replace the first"))
                else:
                    first[key.value] = line
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return problems


def load_data(path: Path, error: MakeError, max_chars: int = 100_000) -> Document:
    """Read a YAML file whose shape its reader checks itself (the lexicons); error on failure."""
    try:
        document = parse_document(read_capped(path, max_chars * 4), str(path), max_chars)
    except FileProblems as err:
        raise error(err.problems) from None
    problems = duplicate_keys(document.node, str(path))
    if problems:
        raise error(problems)
    return document


# --- Where a field is ------------------------------------------------------------------------

def locate(node: yaml.Node, loc: Loc) -> int:
    """Return the line of the deepest part of `loc` under `node` (a key's line for fields)."""
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value
                          if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
