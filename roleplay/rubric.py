"""The rubric: the principles a trainee is scored against, loaded from `prompts/rubric.yaml`.

The rubric is data so that trainers can change wording, weights and evidence without touching
code. Loading validates everything and turns each problem into one line of a RubricError:
`FILE:LINE: FIELD: what is wrong; how to fix it`, like the persona loader.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from roleplay.errors import Problem, RubricError
from roleplay.signals import SignalKind

AppliesWhen = Literal[
    "always", "customer_curses", "customer_urgent", "customer_demands", "technical_issue"
]
SoftenWhen = Literal["customer_asks_transfer"]
MissingStatus = Literal["met", "partly", "violated"]
Due = Literal["first", "last", "after_trigger"]
Rule = Literal["standard", "cursing_boundary"]

# Seed documents are cited by file name, e.g. "003_119b43093722ea27.txt".
SOURCE_PATTERN = r"^\d{3}_[0-9a-f]{16}\.txt$"


class EvidenceRule(BaseModel):
    """How the chain decides a principle's status from detectors and model checks."""

    model_config = ConfigDict(extra="forbid")

    rule: Rule = "standard"
    """`standard`, or `cursing_boundary` for source 003's let-go / boundary / call-back steps."""
    good_signals: list[SignalKind] = Field(default_factory=list)
    """Trainee signal kinds that show the principle met."""
    partial_signals: list[SignalKind] = Field(default_factory=list)
    """Kinds that on their own only earn `partly`."""
    bad_signals: list[SignalKind] = Field(default_factory=list)
    """Kinds that show a violation; their quotes are the evidence."""
    excused_by: list[SignalKind] = Field(default_factory=list)
    """A bad signal is ignored when its turn also has one of these kinds."""
    softened_by: list[SignalKind] = Field(default_factory=list)
    """A bad signal only makes the principle `partly` when its turn has one of these kinds."""
    weak_signals: list[SignalKind] = Field(default_factory=list)
    """Kinds that cap an otherwise met principle at `partly`."""
    good_before: list[SignalKind] = Field(default_factory=list)
    """The first good turn must not come after the first turn with one of these kinds."""
    model_check: str | None = None
    """Id of a yes/no model check, asked per trainee turn when no detector found a good signal."""
    when_missing: MissingStatus = "met"
    """Status when the principle applies and neither good nor bad evidence was found."""
    due: Due = "first"
    """Which trainee turn is quoted when the missing move is the violation."""


class ModelCheck(BaseModel):
    """A yes/no question put to the judge model about one trainee turn."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=10)
    """Asked about the agent's reply, answered Yes or No; the log-probabilities are compared."""
    default_threshold: float = Field(default=0.5, gt=0, lt=1)
    """P(yes) at or above which the answer counts as yes, for models without a calibration."""
    scan: Literal["forward", "backward"] = "forward"
    """Order in which trainee turns are asked; asking stops at the first yes. `forward` for
    moves that should come early (empathy), `backward` for moves that close a call."""


class Principle(BaseModel):
    """One documented customer-service principle, in the project's own words."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """Stable identifier, lowercase with underscores; dev-set labels and reports use it."""
    title: str = Field(min_length=3)
    """Short name shown in the report."""
    description: str = Field(min_length=20)
    """What the principle asks, in the project's own words."""
    good: str = Field(min_length=5)
    """What good handling looks like."""
    good_example: str = Field(min_length=5)
    """A line a trainee could say; shown as advice when the model's rewrite is unusable."""
    violation: str = Field(min_length=5)
    """What a violation looks like."""
    violation_example: str = Field(min_length=5)
    """A line that violates the principle."""
    applies_when: AppliesWhen = "always"
    """When the principle applies to a call (e.g. boundaries only once the customer curses)."""
    soften_when: SoftenWhen | None = None
    """A condition under which a violation only counts as `partly`."""
    weight: float = Field(gt=0, le=10)
    """Relative weight in the overall score."""
    sources: list[str] = Field(min_length=1)
    """Seed documents the principle comes from, by file name."""
    evidence: EvidenceRule = Field(default_factory=EvidenceRule)
    """How the evaluator finds evidence for it."""


class Rubric(BaseModel):
    """All principles and the model checks they use."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    """Format version of the rubric file."""
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    """Language the principles and therefore the report are written in."""
    model_checks: dict[str, ModelCheck] = Field(default_factory=dict)
    """Yes/no checks by id, referenced from `evidence.model_check`."""
    principles: list[Principle] = Field(min_length=1)
    """The principles, in the order the report lists them."""

    def get(self, principle_id: str) -> Principle:
        """Return the principle with this id; KeyError if there is none."""
        for principle in self.principles:
            if principle.id == principle_id:
                return principle
        raise KeyError(principle_id)

    @property
    def ids(self) -> list[str]:
        """Principle ids in rubric order."""
        return [p.id for p in self.principles]


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Return the 1-based line of the YAML node at `loc`, or of its deepest existing parent."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
              and 0 <= part < len(node.value)):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _fix_for(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "remove it or correct the spelling"
    if kind == "missing":
        return "add it"
    if kind in ("literal_error", "enum"):
        expected = (error.get("ctx") or {}).get("expected")
        return f"use one of {expected}" if expected else "use one of the allowed values"
    if kind == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern", "")
        if pattern == SOURCE_PATTERN:
            return "cite a seed file by its name, e.g. 003_119b43093722ea27.txt"
        return f"match the pattern {pattern}"
    if kind.startswith(("greater_than", "less_than")):
        return "use a number in the allowed range"
    if kind.endswith("_type"):
        return "give a value of the right type"
    if kind in ("too_short", "string_too_short"):
        return "write more"
    return "correct the value"


def _problems_from(error: ValidationError, file: str, root: yaml.Node | None) -> list[Problem]:
    problems = []
    for err in error.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "(file)"
        message = err["msg"]
        if err.get("type") != "missing" and "input" in err and not isinstance(err["input"], dict):
            message += f" (got {err['input']!r})"
        problems.append(Problem(file=file, line=_line_of(root, loc), field=field,
                                message=message, fix=_fix_for(dict(err))))
    return problems


def _cross_checks(rubric: Rubric, file: str, root: yaml.Node | None) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, principle in enumerate(rubric.principles):
        if principle.id in seen:
            problems.append(Problem(
                file, _line_of(root, ("principles", i, "id")), f"principles.{i}.id",
                f"duplicate id {principle.id!r} (also principle {seen[principle.id]})",
                "give every principle its own id"))
        seen.setdefault(principle.id, i)
        check = principle.evidence.model_check
        if check is not None and check not in rubric.model_checks:
            problems.append(Problem(
                file, _line_of(root, ("principles", i, "evidence", "model_check")),
                f"principles.{i}.evidence.model_check", f"unknown model check {check!r}",
                f"use one of {sorted(rubric.model_checks)} or define it under model_checks"))
        for j, source in enumerate(principle.sources):
            if not re.match(SOURCE_PATTERN, source):
                problems.append(Problem(
                    file, _line_of(root, ("principles", i, "sources", j)),
                    f"principles.{i}.sources.{j}", f"{source!r} is not a seed file name",
                    "cite a seed file by its name, e.g. 003_119b43093722ea27.txt"))
        ev = principle.evidence
        if ev.when_missing == "violated" and not (ev.good_signals or ev.model_check):
            problems.append(Problem(
                file, _line_of(root, ("principles", i, "evidence", "when_missing")),
                f"principles.{i}.evidence.when_missing",
                "'violated' when missing needs good_signals or a model_check to look for",
                "add good_signals, or use 'met' or 'partly'"))
    return problems


def load_rubric(path: Path) -> Rubric:
    """Load and validate a rubric file; raise RubricError naming every problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricError(f"{file}: no such rubric file; set ROLEPLAY_PROMPTS_DIR to the "
                          "directory holding rubric.yaml") from None
    except UnicodeDecodeError as err:
        raise RubricError(f"{file}: not UTF-8 ({err.reason} at byte {err.start}); "
                          "save the file as UTF-8") from None
    except OSError as err:
        raise RubricError(f"{file}: cannot read: {err.strerror}") from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(err, "problem", None) or str(err)
        raise RubricError(str(Problem(file, line, "(syntax)", f"not valid YAML: {problem}",
                                      "fix the indentation or quoting on that line"))) from None
    if data is None:
        raise RubricError(str(Problem(file, None, "(file)", "the file is empty",
                                      "add `principles:` with at least one principle")))
    if not isinstance(data, dict):
        raise RubricError(str(Problem(file, 1, "(file)", "expected a mapping at the top",
                                      "start the file with `principles:`")))
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as err:
        problems = _problems_from(err, file, root)
        raise RubricError("\n".join(str(p) for p in problems)) from None
    problems = _cross_checks(rubric, file, root)
    if problems:
        raise RubricError("\n".join(str(p) for p in problems))
    return rubric
