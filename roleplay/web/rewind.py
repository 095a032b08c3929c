"""Rewind, branches and Try it on the page, without Gradio (issue 13).

`Rewind` is written against `WebApp` (its engine, store and ownership checks): take one of
your own lines again in a new branch, continue any branch, list the branches of a call,
score one, and play a report's advice item (`roleplay.branching.replay_advice`). The HTML
it returns is escaped here; the Gradio views only place it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from html import escape
from typing import TYPE_CHECKING

from roleplay.branching import MoodPath, Replay, replay_advice, rewind_position
from roleplay.conversation import Session
from roleplay.errors import RoleplayError
from roleplay.hints import Hint, hints_on, load_hints, next_hint
from roleplay.store import BranchInfo
from roleplay.transcript import Transcript

if TYPE_CHECKING:
    from roleplay.web.actions import CallView, Identity, WebApp
    from roleplay.web.reports import ReportView


def mood_path_html(transcript: Transcript) -> str:
    """The rungs of the call so far, one after another (shown under the mood meter)."""
    path = transcript.mood_path()
    if len(path) < 2:
        return ""
    return ('<div class="rp-mood-path" id="mood-path">Mood so far: '
            + " → ".join(escape(r.value) for r in path) + "</div>")


def _path_html(title: str, path: MoodPath, css: str) -> str:
    steps = "".join(
        f'<li><b>You:</b> {escape(s.line)}<br><small>{escape(s.before.value)} → '
        f'{escape(s.after.value)}: {escape(s.reason)}</small>'
        + (f'<br><b>Customer:</b> <span class="rp-replay-reply">{escape(s.reply)}</span>'
           if s.reply is not None else "") + "</li>"
        for s in path.steps)
    return (f'<div class="rp-replay-path {css}"><h4>{escape(title)}: '
            f'<span class="rp-path">{escape(path.describe())}</span></h4><ol>{steps}</ol></div>')


def replay_html(replay: Replay) -> str:
    """Both mood paths side by side, the customer's replies, and what the replay showed."""
    flag = "" if replay.holds else " rp-replay-contradicts"
    return (f'<div class="rp-replay{flag}" id="replay">'
            f'<div style="display:flex;gap:1em">'
            f'{_path_html("Your line", replay.original, "rp-replay-original")}'
            f'{_path_html("The rewrite", replay.rewrite, "rp-replay-rewrite")}</div>'
            f'<p class="rp-replay-note">{escape(replay.note)}</p></div>')


def branches_html(found: list[BranchInfo], paths: dict[int, str]) -> str:
    """The branches of one call, as the history lists them."""
    rows = []
    for b in found:
        where = ("the call as first played" if b.from_turn is None else
                 f"{'Try it' if b.origin == 'replay' else 'taken again'} from turn "
                 f"{b.from_turn} of branch {b.parent_branch}")
        score = f"score {b.score:.0f}" if b.score is not None else "not scored"
        mark = " (being played)" if b.current else ""
        rows.append(f'<li class="rp-branch" data-branch="{b.branch}">Branch {b.branch}: '
                    f'{escape(where)} · {b.turns} turns · {score}{mark}<br>'
                    f'<small>{escape(paths.get(b.branch, ""))}</small></li>')
    return (f'<div id="branches"><b>One call, {len(found)} branch'
            f'{"es" if len(found) != 1 else ""}</b><ul>{"".join(rows)}</ul></div>')


_HINTS_OFF: set[tuple[int, str]] = set()
"""(id of the WebApp, user) of trainees who turned hints off, for the life of the process."""


def set_hints(app: WebApp, user: str, wanted: bool) -> None:
    """Turn hints on or off for `user` (the Hints box of the call panel)."""
    key = (id(app), user)
    (_HINTS_OFF.discard if wanted else _HINTS_OFF.add)(key)


def hint_for(app: WebApp, session: Session, assessment: bool = False) -> Hint | None:
    """The hint after the customer's last line, when hints are on for this call."""
    wanted = (id(app), session.user or "") not in _HINTS_OFF
    hints = load_hints(app.settings.prompts_dir)
    if not hints_on(hints, session.persona, wanted, assessment):
        return None
    return next_hint(hints, session.persona, session.transcript)


def call_extras_html(app: WebApp, session: Session) -> str:
    """What the mood column shows under the meter: the mood path, and the hint (computed
    from the stored appraisal, no model call, so it never holds a reply up)."""
    hint = hint_for(app, session)
    shown = (f'<div class="rp-hint" id="hint"><b>Hint:</b> {escape(hint.text)}</div>'
             if hint is not None else "")
    return mood_path_html(session.transcript) + shown


class Rewind:
    """The page's branch actions for one WebApp; `assessment(session_id)` says whether a
    call is an assessment (coaching), where nothing can be taken again."""

    def __init__(self, app: WebApp, assessment: Callable[[str], bool] | None = None):
        self.app = app
        self.assessment = assessment or (lambda _: False)

    def suggestion(self, session: Session) -> str:
        """A suggested reply for the trainee's next line ("" when there is none)."""
        hint = hint_for(self.app, session, self.assessment(session.session_id))
        return hint.example or "" if hint is not None else ""

    def rewind(self, session: Session, position: int, who: Identity) -> CallView:
        """Take the trainee's line at `position` again: a new branch, the call as it was
        before that line, the old line in the box to be changed."""
        app = self.app
        app.check_call(session, who)
        if self.assessment(session.session_id):
            raise RoleplayError("in an assessment a line cannot be taken again")
        store = app.store
        if store.info(session.session_id).ended_at is not None:
            raise RoleplayError("this call has ended; continue one of its branches from the "
                                "History tab")
        with store.answering(session.session_id):
            line = rewind_position(store.load(session.session_id), position).content
            store.branch(session.session_id, position)
            session.transcript = store.load(session.session_id)
        return app.call_view(session, keep_text=line)

    def branches(self, session_id: str, who: Identity) -> str:
        """The history's listing of a call's branches, with each one's mood path."""
        self.app.readable_session(session_id, who)
        store = self.app.store
        found = store.branches(session_id)
        paths = {b.branch: " → ".join(r.value for r in store.load(session_id, b.branch)
                                      .mood_path()) for b in found}
        return branches_html(found, paths)

    def choices(self, session_id: str, who: Identity) -> list[tuple[str, int]]:
        """(label, branch) of every branch of the call, for a picker."""
        self.app.readable_session(session_id, who)
        return [(f"Branch {b.branch}" + (" (the call as first played)" if b.branch == 0
                                          else f" (from turn {b.from_turn})"), b.branch)
                for b in self.app.store.branches(session_id)]

    def continue_branch(self, session_id: str, branch: int, who: Identity) -> Session:
        """Play `branch` of one of `who`'s calls from where it stopped (the call reopens)."""
        self.app.owned_session(session_id, who)
        self.app.store.use_branch(session_id, branch, reopen=True)
        _, session = self.app.resume(session_id, who)
        return session

    def score_branch(self, session_id: str, branch: int, who: Identity
                     ) -> Iterator[ReportView]:
        """Score `branch` of one of `who`'s ended calls; the branch being played stays."""
        store = self.app.store
        self.app.owned_session(session_id, who)
        played = store.current_branch(session_id)
        store.use_branch(session_id, branch)
        try:
            yield from self.app.score(session_id, None, prefix="h")
        finally:
            store.use_branch(session_id, played)

    def try_it(self, session_id: str, number: int, who: Identity) -> Replay:
        """Play the report's advice item `number` (1-based) from its turn, in a branch."""
        app = self.app
        info = app.owned_session(session_id, who)
        report = app.store.load_report(session_id)
        if report is None or not 1 <= number <= len(report.advice):
            raise RoleplayError("there is no such advice item in the report; score the call "
                                "first")
        persona = app.personas().get(info.persona_id)
        if persona is None:
            raise RoleplayError(f"the scenario '{info.persona_id}' is gone; a trainer can "
                                "publish it again")
        with app.store.answering(session_id):
            return replay_advice(app.engine, app.store, session_id,
                                 report.advice[number - 1], persona)
