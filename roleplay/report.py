"""The evaluation report: typed models the CLI prints as JSON and the web app renders.

The report is written in English (the rubric's language); quotes and the model's rewrites
stay in the transcript's language. `render_markdown` is the one human-readable rendering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from roleplay.text import STATUS_MARKDOWN

Status = Literal["met", "partly", "violated", "not_applicable", "unscored"]

STATUS_SCORE: dict[str, float] = {"met": 100.0, "partly": 50.0, "violated": 0.0}
"""Score of a principle by status; not_applicable and unscored have no score."""


class Evidence(BaseModel):
    """A verbatim quote from one turn of the transcript."""

    model_config = ConfigDict(extra="forbid")

    turn: int = Field(ge=0)
    """0-based index into `transcript.turns`."""
    quote: str = Field(min_length=1)
    """Exact words of that turn; the evaluator checks they appear in it verbatim."""


class PrincipleResult(BaseModel):
    """How the trainee did on one principle."""

    model_config = ConfigDict(extra="forbid")

    id: str
    """The principle's id in the rubric."""
    title: str
    """The principle's title."""
    status: Status
    """met, partly, violated, not_applicable (did not arise in this call) or unscored (the
    check could not be completed; never counted as 0 or as full marks)."""
    score: float | None = None
    """0-100 (met 100, partly 50, violated 0); None when not_applicable or unscored."""
    evidence: list[Evidence] = Field(default_factory=list)
    """The turns and words that show the status; a violation always has at least one."""
    explanation: str
    """One or two sentences on why, for the trainee."""
    raw_output: str | None = None
    """What the judge model returned for this principle, when a model was asked."""


class Advice(BaseModel):
    """One "do this instead": a trainee turn, a better version of it, and why."""

    model_config = ConfigDict(extra="forbid")

    turn: int = Field(ge=0)
    """0-based index of the trainee turn the advice is about."""
    original: str
    """What the trainee said."""
    rewrite: str
    """What they could say instead."""
    principle: str
    """Id of the principle the advice is about."""
    why: str
    """Why the rewrite is better, and where it came from."""
    rewrite_source: Literal["model", "rubric_example"] = "model"
    """`model`: written by the judge model and checked by the detectors; `rubric_example`: the
    rubric's good example, used when no model was available or its rewrites failed the checks."""


class EvaluationReport(BaseModel):
    """The result of evaluating one call against the rubric."""

    model_config = ConfigDict(extra="forbid")

    overall_score: float | None = None
    """0-100: the weighted mean of the scored principles; None when nothing could be scored."""
    principles: list[PrincipleResult] = Field(default_factory=list)
    """One result per rubric principle, in rubric order."""
    advice: list[Advice] = Field(default_factory=list)
    """Up to three "do this instead" items, most important first."""
    mood_path: list[str] | None = None
    """The customer's rung after each trainee turn (opening rung first), for session transcripts."""
    language: str = "en"
    """Language code of the transcript (en, fi, no, lv, hu); the report text is in English."""
    judge_model: str | None = None
    """The model behind the yes/no checks and rewrites; None when only detectors ran."""
    warnings: list[str] = Field(default_factory=list)
    """Things the trainer should know: dropped quotes, ignored text aimed at the grader, ..."""
    advice_status: Literal["ready", "pending", "off"] = "ready"
    """`ready`: `advice` is complete; `pending`: rewrites are still being written
    (`roleplay.scoring.Scorer.advice` streams them in); `off`: no advice was asked for."""


UNREACHABLE = "the judge model could not be reached"
"""How the warning of a report whose model checks stopped at a backend failure begins."""


def model_unreachable(report: EvaluationReport) -> bool:
    """True when the model failed while the call was scored, so scoring again may score more."""
    return any(w.startswith(UNREACHABLE) for w in report.warnings)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~])")


def _inline(text: str, limit: int = 300) -> str:
    """Return `text` on one line with Markdown syntax escaped, so transcript text stays text."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", flat)


@dataclass(frozen=True)
class Change:
    """One of the things to change, top of the report: a principle not (fully) met and the
    rewrite for it; `advice` is None while it is being written or when none was."""

    principle: PrincipleResult | None
    advice: Advice | None


@dataclass(frozen=True)
class Outline:
    """The report in reading order, shared by the page and the Markdown: the score, what
    went well, up to three things to change, then every principle that came up (folded),
    and the ones that did not in one line."""

    went_well: list[PrincipleResult]
    """Met, with the words that show it."""
    changes: list[Change]
    table: list[PrincipleResult]
    """Every principle that came up (scored, partly, violated, unscored), in rubric order."""
    quiet: list[PrincipleResult]
    """Did not come up: not applicable, or met with no evidence (no sign of a problem)."""
    pending: bool
    """Rewrites are still being written."""

    @property
    def unscored(self) -> list[PrincipleResult]:
        return [p for p in self.table if p.status == "unscored"]


def outline(report: EvaluationReport) -> Outline:
    """Return `report` in reading order (see Outline)."""
    quiet = [p for p in report.principles
             if p.status == "not_applicable" or (p.status == "met" and not p.evidence)]
    quiet_ids = {p.id for p in quiet}
    by_id = {p.id: p for p in report.principles}
    changes = [Change(by_id.get(a.principle), a) for a in report.advice[:3]]
    covered = {a.principle for a in report.advice}
    # Principles still to change with no rewrite yet: the violations first, in rubric order.
    open_ = [p for p in report.principles
             if p.status in ("violated", "partly") and p.id not in covered]
    open_.sort(key=lambda p: p.status != "violated")
    changes += [Change(p, None) for p in open_[: 3 - len(changes)]]
    return Outline(
        went_well=[p for p in report.principles if p.status == "met" and p.evidence],
        changes=changes,
        table=[p for p in report.principles if p.id not in quiet_ids],
        quiet=quiet,
        pending=report.advice_status == "pending",
    )


def render_markdown(report: EvaluationReport) -> str:
    """Return the report as Markdown (turn numbers shown from 1), in the order of `outline`."""
    shape = outline(report)
    lines = ["# Call evaluation", ""]
    score = "not scored" if report.overall_score is None else f"{report.overall_score:.0f} / 100"
    lines.append(f"**Overall score:** {score}  ")
    lines.append(f"**Transcript language:** {report.language}  ")
    lines.append(f"**Judge model:** {report.judge_model or 'none (detectors only)'}  ")
    if report.mood_path:
        lines.append(f"**Customer mood:** {' → '.join(report.mood_path)}  ")
    if shape.unscored:
        names = ", ".join(_inline(p.title or p.id) for p in shape.unscored)
        lines.append(f"**Could not be scored:** {names} (why: see Every principle)  ")
    lines.append("")

    lines += ["## What went well", ""]
    for p in shape.went_well:
        ev = p.evidence[0]
        lines.append(f"- **{_inline(p.title or p.id)}** (turn {ev.turn + 1}): "
                     f"\"{_inline(ev.quote, limit=160)}\"")
    if not shape.went_well:
        lines.append("- Nothing in this call showed a principle clearly met.")
    lines.append("")

    lines += ["## Do this instead", ""]
    for i, change in enumerate(shape.changes, 1):
        lines += _change_markdown(i, change, shape.pending)
    if not shape.changes:
        lines.append("Nothing to change in this call." if not shape.pending
                     else "_Advice on its way…_")
    lines.append("")

    fold = "<details><summary>Every principle that came up, with its evidence</summary>"
    lines += ["## Every principle", "", fold, ""]
    if shape.table:
        lines += ["| Principle | Status | Score |", "|---|---|---|"]
    for result in shape.table:
        value = "–" if result.score is None else f"{result.score:.0f}"
        lines.append(f"| {_inline(result.title)} | {STATUS_MARKDOWN[result.status]} | {value} |")
    lines.append("")
    for result in shape.table:
        lines.append(f"### {_inline(result.title)} — {result.status.replace('_', ' ')}")
        lines.append("")
        lines.append(_inline(result.explanation, limit=600))
        for ev in result.evidence:
            lines.append(f"- turn {ev.turn + 1}: \"{_inline(ev.quote)}\"")
        lines.append("")
    if shape.quiet:
        lines.append("**Did not come up:** "
                     + ", ".join(_inline(p.title or p.id) for p in shape.quiet) + ".")
        lines.append("")
    lines += ["</details>", ""]

    if report.warnings:
        lines += ["## Warnings", ""]
        lines += [f"- {_inline(w, limit=400)}" for w in report.warnings]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _change_markdown(number: int, change: Change, pending: bool) -> list[str]:
    p, item = change.principle, change.advice
    title = _inline(p.title if p else item.principle if item else "")
    if item is not None:
        source = "" if item.rewrite_source == "model" else " _(rubric example)_"
        return [f"{number}. **{title}** (turn {item.turn + 1})",
                f"   - You said: \"{_inline(item.original)}\"",
                f"   - Instead: \"{_inline(item.rewrite)}\"{source}",
                f"   - Why: {_inline(item.why)}"]
    assert p is not None  # a change without advice is always a principle's
    out = [f"{number}. **{title}** — {STATUS_MARKDOWN[p.status]}"]
    if p.evidence:
        ev = p.evidence[0]
        out.append(f"   - You said (turn {ev.turn + 1}): \"{_inline(ev.quote)}\"")
    out.append("   - _Advice on its way…_" if pending else f"   - Why: {_inline(p.explanation)}")
    return out
