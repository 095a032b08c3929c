"""The evaluation report: typed models the CLI prints as JSON and the web app renders.

The report is written in English (the rubric's language); quotes and the model's rewrites
stay in the transcript's language. `render_markdown` is the one human-readable rendering.
"""

from __future__ import annotations

import re
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


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~])")


def _inline(text: str, limit: int = 300) -> str:
    """Return `text` on one line with Markdown syntax escaped, so transcript text stays text."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", flat)


def render_markdown(report: EvaluationReport) -> str:
    """Return the report as Markdown (turn numbers shown from 1)."""
    lines = ["# Call evaluation", ""]
    score = "not scored" if report.overall_score is None else f"{report.overall_score:.0f} / 100"
    lines.append(f"**Overall score:** {score}  ")
    lines.append(f"**Transcript language:** {report.language}  ")
    lines.append(f"**Judge model:** {report.judge_model or 'none (detectors only)'}  ")
    if report.mood_path:
        lines.append(f"**Customer mood:** {' → '.join(report.mood_path)}  ")
    lines.append("")

    if report.advice:
        lines += ["## Do this instead", ""]
        for i, item in enumerate(report.advice, 1):
            source = "" if item.rewrite_source == "model" else " _(rubric example)_"
            lines.append(f"{i}. **Turn {item.turn + 1}** ({item.principle})")
            lines.append(f"   - You said: \"{_inline(item.original)}\"")
            lines.append(f"   - Instead: \"{_inline(item.rewrite)}\"{source}")
            lines.append(f"   - Why: {_inline(item.why)}")
        lines.append("")

    lines += ["## Principles", "", "| Principle | Status | Score |", "|---|---|---|"]
    for result in report.principles:
        value = "–" if result.score is None else f"{result.score:.0f}"
        lines.append(f"| {_inline(result.title)} | {STATUS_MARKDOWN[result.status]} | {value} |")
    lines.append("")

    for result in report.principles:
        if result.status == "not_applicable":
            continue
        lines.append(f"### {_inline(result.title)} — {result.status.replace('_', ' ')}")
        lines.append("")
        lines.append(_inline(result.explanation, limit=600))
        for ev in result.evidence:
            lines.append(f"- turn {ev.turn + 1}: \"{_inline(ev.quote)}\"")
        lines.append("")

    if report.warnings:
        lines += ["## Warnings", ""]
        lines += [f"- {_inline(w, limit=400)}" for w in report.warnings]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
