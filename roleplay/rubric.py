"""The rubric: the principles a trainee is scored against, loaded from `prompts/rubric.yaml`.

The rubric is data so that trainers can change wording, weights and evidence without touching
code. Loading (`roleplay.yamlfile`, like every trainer-edited file) validates everything and
turns each problem into one line of a RubricError: `FILE:LINE: FIELD: what is wrong; how to
fix it`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import ErrorDetails

from roleplay.errors import Problem, RubricError
from roleplay.signals import SignalKind, misplaced
from roleplay.yamlfile import Document, YamlKind, joined

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

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

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

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    question: str = Field(min_length=10)
    """Asked about the agent's reply, answered Yes or No; the log-probabilities are compared."""
    default_threshold: float = Field(default=0.5, gt=0, lt=1)
    """P(yes) at or above which the answer counts as yes, for models without a calibration."""
    scan: Literal["forward", "backward"] = "forward"
    """Order in which trainee turns are asked; asking stops at the first yes. `forward` for
    moves that should come early (empathy), `backward` for moves that close a call."""


class Principle(BaseModel):
    """One documented customer-service principle, in the project's own words."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

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
    sources: list[Annotated[str, Field(pattern=SOURCE_PATTERN)]] = Field(min_length=1)
    """Seed documents the principle comes from, by file name."""
    evidence: EvidenceRule = Field(default_factory=EvidenceRule)
    """How the evaluator finds evidence for it."""


class Rubric(BaseModel):
    """All principles and the model checks they use."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

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


def _cross_checks(rubric: Rubric, document: Document) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, principle in enumerate(rubric.principles):
        at = ("principles", i)
        if principle.id in seen:
            problems.append(document.problem(
                (*at, "id"), f"duplicate id {principle.id!r} (also principle {seen[principle.id]})",
                "give every principle its own id"))
        seen.setdefault(principle.id, i)
        check = principle.evidence.model_check
        if check is not None and check not in rubric.model_checks:
            problems.append(document.problem(
                (*at, "evidence", "model_check"), f"unknown model check {check!r}",
                f"use one of {sorted(rubric.model_checks)} or define it under model_checks"))
        ev = principle.evidence
        for name, helpful in (("good_signals", True), ("partial_signals", True),
                              ("bad_signals", False)):
            for j, what, fix in misplaced(getattr(ev, name), helpful):
                problems.append(document.problem((*at, "evidence", name, j), what, fix))
        if ev.when_missing == "violated" and not (ev.good_signals or ev.model_check):
            problems.append(document.problem(
                (*at, "evidence", "when_missing"),
                "'violated' when missing needs good_signals or a model_check to look for",
                "add good_signals, or use 'met' or 'partly'"))
    return problems


def _explain(err: ErrorDetails, loc: tuple[str | int, ...]) -> tuple[str, str] | None:
    if err["type"] == "string_pattern_mismatch" and len(loc) > 1 and loc[-2] == "sources":
        return (f"{err.get('input')!r} is not a seed file name",
                "cite a seed file by its name, e.g. 003_119b43093722ea27.txt")
    return None


RUBRIC_FILE: YamlKind[Rubric] = YamlKind(
    Rubric, noun="rubric", error=joined(RubricError),
    empty_fix="add `principles:` with at least one principle",
    top_fix="start the file with `principles:`",
    hint="see the principles in prompts/rubric.yaml for the expected form",
    missing_fix="set ROLEPLAY_PROMPTS_DIR to the directory holding rubric.yaml",
    explain=_explain, check=_cross_checks)


def load_rubric(path: Path) -> Rubric:
    """Load and validate a rubric file; raise RubricError naming every problem."""
    return RUBRIC_FILE.read(Path(path)).model
