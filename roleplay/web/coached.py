"""The page's actions with coaching (issue 12): `CoachedApp` is `WebApp` plus the trainer's
dashboard and reviews, assignments on the picker, and assessment calls.

An assessment call differs from practice here, on the server: the mood meter stays but
never says why the mood moved, a line cannot be taken back, the report is withheld from
the trainee until a trainer releases it (unless the assignment releases at once), and the
result is pass/fail against the pass mark. A trainee's report and history show the coach's
notes beside the machine's judgement. Nothing here imports Gradio.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from roleplay.coaching.dashboard import CallRecord, Dashboard, Filters, build_dashboard, load_calls
from roleplay.coaching.db import CoachingStore
from roleplay.coaching.models import Assignment, Attempt, Override, TurnComment
from roleplay.coaching.service import Coaching, CoachingError
from roleplay.coaching.xapi import Result, results
from roleplay.conversation import Session
from roleplay.personas import Persona
from roleplay.store import SessionInfo
from roleplay.web import coach_render, render
from roleplay.web.actions import CallView, Identity, NotAllowed, ReportView, WebApp

HIDDEN_REASON = "not shown during an assessment"
WITHHELD = ("Your assessment is handed in. Your trainer releases the result; it shows in "
            "your History once they have.")


EXPORT_PREFIX = "team-"
"""How a trainer's export file is named (roleplay.web.gate refuses it to everyone else)."""


@dataclass(frozen=True)
class ReviewView:
    """What the review panel shows of one call."""

    html: str
    mood: Figure | None
    principles: list[str]
    changes: list[list[str]]


class CoachedApp(WebApp):
    """WebApp with the coaching actions; every trainer action checks the role again."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.coaching = Coaching(self.store, CoachingStore.beside(self.store))

    # --- assessment calls ----------------------------------------------------------------

    def attempt(self, session_id: str) -> Attempt | None:
        return self.coaching.attempt(session_id)

    def is_assessment(self, session_id: str) -> bool:
        """True for an assessment call: no hints, no rewind or retaking a line (the
        branching view, `roleplay.web.rewind.Rewind`, asks this)."""
        return self.attempt(session_id) is not None

    def start(self, persona_id: str, who: Identity) -> Session:
        session = super().start(persona_id, who)
        self.coaching.begin(session.session_id, who.name or "", persona_id)
        return session

    def _hidden(self, session: Session, view: CallView) -> CallView:
        if self.attempt(session.session_id) is not None:
            rung, _ = render.last_change(session.transcript, session.persona.start_rung)
            view.mood = render.mood_meter(rung, HIDDEN_REASON, session.persona.customer.name)
        return view

    def call_view(self, session: Session, pending: str | None = None,
                  error: str | None = None, keep_text: str = "") -> CallView:
        return self._hidden(session, super().call_view(session, pending, error, keep_text))

    def say(self, session: Session, text: str, who: Identity) -> Iterator[CallView]:
        for view in super().say(session, text, who):
            yield self._hidden(session, view)

    def retry(self, session: Session, who: Identity) -> Iterator[CallView]:
        for view in super().retry(session, who):
            yield self._hidden(session, view)

    def take_back(self, session: Session, who: Identity) -> CallView:
        if self.attempt(session.session_id) is not None:
            self.check_call(session, who)
            return self.call_view(session, error=(
                "In an assessment a line cannot be taken back; press Retry to get the "
                "customer's answer."))
        return super().take_back(session, who)

    def _withheld_stream(self, session_id: str, views: Iterator[ReportView]
                         ) -> Iterator[ReportView]:
        attempt = self.coaching.db.attempt(session_id)
        if attempt is None:
            yield from views
            return
        *_, last = views  # scored and saved in full, whatever the trainee is shown
        if not attempt.released:
            yield ReportView(render.notice_box(WITHHELD), None, None, None)
            return
        yield self._annotated(session_id, last)

    def end_stream(self, session: Session, who: Identity) -> Iterator[ReportView]:
        yield from self._withheld_stream(session.session_id, super().end_stream(session, who))

    def score_stored_stream(self, session_id: str, who: Identity,
                            prefix: str) -> Iterator[ReportView]:
        views = super().score_stored_stream(session_id, who, prefix)
        yield from views if who.role == "trainer" else self._withheld_stream(session_id, views)

    def stored_report(self, session_id: str, who: Identity, prefix: str) -> ReportView | None:
        view = super().stored_report(session_id, who, prefix)
        attempt = self.coaching.db.attempt(session_id)
        if attempt is not None and not attempt.released and who.role != "trainer":
            return ReportView(render.notice_box(WITHHELD), None, None, None)
        return self._annotated(session_id, view) if view is not None else None

    def _annotated(self, session_id: str, view: ReportView) -> ReportView:
        """`view` with the assessment's result and the coach's notes above the report."""
        extra = ""
        attempt = self.coaching.db.attempt(session_id)
        if attempt is not None:
            mark = self.coaching.db.assignment(attempt.assignment_id).pass_mark
            extra += coach_render.assessment_html(attempt, self.store.info(session_id).score,
                                                  mark)
        review = self.coaching.review(session_id)
        report = self.store.load_report(session_id)
        if review.reviewed and report is not None:
            extra += coach_render.coach_notes_html(review, report, self.store.load(session_id))
        return replace(view, html=extra + view.html) if extra else view

    def history(self, who: Identity) -> list[SessionInfo]:
        """The trainee's sessions; an assessment's score stays hidden until released."""
        sessions = super().history(who)
        if who.role == "trainer":
            return sessions
        withheld = {t.session_id for t in self.coaching.db.attempts()
                    if t.user == who.name and not t.released}
        return [s.model_copy(update={"score": None}) if s.session_id in withheld else s
                for s in sessions]

    def own_calls(self, who: Identity, sessions: list[SessionInfo]) -> list[CallRecord]:
        """`who`'s scored calls among `sessions` (their history: released results only)."""
        shown = {s.session_id for s in sessions if s.score is not None}
        return [c for c in self.coaching.calls(who.name) if c.session_id in shown]

    def picker(self, personas: dict[str, Persona], who: Identity
               ) -> tuple[dict[str, Persona], str]:
        """The scenarios with `who`'s open assignments first, and the list of them (HTML)."""
        open_ = [(a, s) for a, s in self.coaching.open_assignments(who.name) if s in personas]
        if not open_:
            return personas, ""
        first = {s: personas[s] for _, s in open_}
        items = []
        for a, s in open_:
            due = f", due {a.due.isoformat()}" if a.due else ""
            late = " (overdue)" if a.due and a.due < date.today() else ""
            kind = (" — <b>assessment</b>: one attempt, no take-back, the mood's reasons "
                    "hidden, pass mark " + f"{a.pass_mark:g}" if a.assessment and a.pass_mark
                    is not None else f", pass mark {a.pass_mark:g}" if a.pass_mark is not None
                    else "")
            items.append(f'<li data-scenario="{escape(s)}">{escape(personas[s].title)}{due}'
                         f"{late}{kind}</li>")
        note = f'<div id="assignments" class="rp-ok"><b>Your assignments</b><ul>{"".join(items)}</ul></div>'
        return {**first, **{k: v for k, v in personas.items() if k not in first}}, note

    # --- the trainer's side --------------------------------------------------------------

    def trainees(self) -> list[str]:
        if self.users is None:
            return []
        return self.users.names("trainee")

    def dashboard(self, filters: Filters, who: Identity) -> Dashboard:
        self.require_trainer(who)
        return build_dashboard(load_calls(self.store, self.coaching.db), filters,
                               self.coaching.db.assignments(), self.trainees())

    def review_call(self, session_id: str, who: Identity) -> ReviewView:
        """A trainee's call for review: its report (or why there is none) with the coach's
        notes, the mood plot, the ids of its principles, and every change made so far."""
        self.require_trainer(who)
        info = self.readable_session(session_id, who)
        if info.ended_at is None:
            raise NotAllowed("that call is not finished; it can be reviewed once it is")
        transcript = self.store.load(session_id)
        report = self.store.load_report(session_id)
        review = self.coaching.review(session_id)
        mood = render.mood_figure(transcript)
        if report is None:
            return ReviewView(render.notice_box("This call has no report yet."), mood, [],
                              coach_render.history_rows(review))
        head = (f'<p id="review-head">Call of <b>{escape(info.user or "?")}</b>, '
                f'{escape(info.persona_id)}, {info.started_at:%Y-%m-%d %H:%M} UTC</p>')
        html = (head + coach_render.coach_notes_html(review, report, transcript)
                + render.report_html(report, transcript, prefix="v"))
        return ReviewView(html, mood, [p.id for p in report.principles],
                          coach_render.history_rows(review))

    def override(self, session_id: str, principle: str, status: str, comment: str,
                 who: Identity) -> Override:
        self.require_trainer(who)
        self.readable_session(session_id, who)
        return self.coaching.set_status(session_id, principle, status, comment, who.name or "")

    def comment(self, session_id: str, turn: int, text: str, who: Identity) -> TurnComment:
        self.require_trainer(who)
        self.readable_session(session_id, who)
        return self.coaching.comment_turn(session_id, turn, text, who.name or "")

    def assign(self, scenarios: list[str], trainees: list[str], due: str, pass_mark: str,
               assessment: bool, release_at_once: bool, who: Identity) -> Assignment:
        self.require_trainer(who)
        return self.coaching.assign(scenarios, trainees, due, pass_mark, assessment,
                                    release_at_once, who.name or "", list(self.personas()),
                                    self.trainees() if self.users is not None else None)

    def release(self, session_id: str, who: Identity) -> None:
        self.require_trainer(who)
        self.coaching.release(session_id, who.name or "")

    def results(self, who: Identity) -> list[Result]:
        self.require_trainer(who)
        db = self.coaching.db
        return results(db.assignments(), db.attempts(),
                       {s.session_id: s for s in self.store.list_sessions()})

    def export_file(self, name: str, text: str) -> Path:
        """Write an export for download, named `team-<name>`: the Gate serves such files to
        trainers only (Gradio copies a download into its cache under a hash of its content,
        so the file's name is all of its address the Gate can read)."""
        # A random folder, so two exports of one name never overwrite each other.
        path = self.files_dir / f"export-{secrets.token_hex(12)}" / f"{EXPORT_PREFIX}{name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


__all__ = ["EXPORT_PREFIX", "CoachedApp", "CoachingError", "Filters"]
