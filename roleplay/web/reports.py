"""The report of a call as the page shows it: scores at once, advice streamed in.

With a `Scorer` (roleplay.scoring: the per-turn checks and rewrites run in the background
while the trainee types), End call shows the scores straight away, with "advice on its way"
where a rewrite is still being written, and the report is shown again each time one more
rewrite is ready. Without one (the CLI's evaluator, older setups, most tests) the whole
evaluation runs at End call, as before. Every report shown is also saved, so a page closed
mid-way keeps the scores, and nothing here imports Gradio. The scorer's background work is
started by the engine's `on_reply` hook (see roleplay.web.app.app_from_settings).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from matplotlib.figure import Figure

from roleplay.errors import RoleplayError
from roleplay.personas import Persona
from roleplay.report import EvaluationReport, model_unreachable
from roleplay.store import TranscriptStore
from roleplay.transcript import Transcript
from roleplay.web import render

log = logging.getLogger(__name__)

EvaluateFn = Callable[[Transcript, Persona], EvaluationReport]
"""Scores a finished call: evaluate(transcript, rubric, judge, persona) with the rest bound."""

MarkdownFn = Callable[[EvaluationReport], str]
"""Renders a report as Markdown for download (roleplay.report.render_markdown)."""


class Scorer(Protocol):
    """The part of roleplay.scoring.Scorer the page uses."""

    def prepare(self, session_id: str) -> None:
        """Start the checks and rewrites for the turns stored so far; returns at once."""
        ...

    def scores(self, session_id: str) -> EvaluationReport:
        """The scores of the call, without asking a model (`advice` may be incomplete)."""
        ...

    def advice(self, session_id: str, report: EvaluationReport) -> Iterator[EvaluationReport]:
        """`report` again each time one more rewrite is ready, the last one with
        advice_status "ready"."""
        ...


@dataclass
class ReportView:
    """What a report panel shows: the HTML, the mood plot and the two download files."""

    html: str
    plot: Figure | None
    markdown_file: Path | None
    json_file: Path | None
    rescore: bool = False
    """Offer to score the call (again): it has no report, its saved one no longer loads, its
    advice was never finished, or the model could not be reached while it was scored."""


ENDS_AT_ONCE = 8
"""With a scorer: End calls served at once (each mostly waits for the scorer's worker)."""

UNFINISHED = ("The advice for this call was not finished (the page was closed or the model "
              "stopped). Press Score the call again to write it.")


class Reports:
    """Scores calls, saves their reports and renders them for the page."""

    def __init__(self, store: TranscriptStore, evaluate_fn: EvaluateFn,
                 markdown_fn: MarkdownFn, files_dir: Path, scorer: Scorer | None = None):
        self.store = store
        self.evaluate_fn = evaluate_fn
        self.markdown_fn = markdown_fn
        self.files_dir = files_dir
        self.scorer = scorer

    @property
    def concurrency(self) -> int:
        """How many End calls (and re-scores) may run at once. Without a scorer each one is
        the whole evaluation on the model, so one at a time; with one, the scores need no
        model and the advice waits for the scorer's own worker, so a trainee's scores never
        queue behind another trainee's advice."""
        return 1 if self.scorer is None else ENDS_AT_ONCE

    def stream(self, session_id: str, transcript: Transcript, persona: Persona,
               prefix: str) -> Iterator[ReportView]:
        """Score the stored call and yield its view: the scores first, then once per rewrite."""
        if self.scorer is None:
            report = self.evaluate_fn(transcript, persona)
            self.store.save_report(session_id, report)
            yield self.view(session_id, report, transcript, prefix)
            return
        report = self.scorer.scores(session_id)
        self.store.save_report(session_id, report)
        yield self.view(session_id, report, transcript, prefix)
        if report.advice_status != "pending":
            return
        try:
            for better in self.scorer.advice(session_id, report):
                report = better  # kept: if the advice stops, the last one shown is saved
                self.store.save_report(session_id, report)
                yield self.view(session_id, report, transcript, prefix)
        except RoleplayError as err:
            log.warning("advice for %s stopped: %s", session_id, err)
            shown = self.view(session_id, report, transcript, prefix)
            shown.html = render.error_box(f"The advice could not be finished: {err}. The "
                                          "scores are saved; press Score the call again for "
                                          "the advice.") + shown.html
            shown.rescore = True
            yield shown

    def view(self, session_id: str, report: EvaluationReport, transcript: Transcript,
             prefix: str) -> ReportView:
        """The view of `report`, with its download files written."""
        md, js = render.write_report_files(report, self.markdown_fn(report), session_id,
                                           self.files_dir)
        # Scored while the model was down: its principles are open, so offer to score again.
        return ReportView(render.report_html(report, transcript, prefix),
                          render.mood_figure(transcript), md, js,
                          rescore=model_unreachable(report))

    def stored(self, session_id: str, report: EvaluationReport, transcript: Transcript,
               prefix: str) -> ReportView:
        """The view of a saved report; one whose advice never finished says so and offers
        to score again, rather than promising advice that is not coming."""
        if report.advice_status != "pending":
            return self.view(session_id, report, transcript, prefix)
        shown = self.view(session_id, report, transcript, prefix)
        html = render.report_html(report.model_copy(update={"advice_status": "off"}),
                                  transcript, prefix)
        shown.html = render.notice_box(UNFINISHED) + html
        shown.rescore = True
        return shown
