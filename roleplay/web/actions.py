"""What every page action does, without Gradio: `WebApp` and the views it returns.

`WebApp` is written against the engine, the store and the personas directory; the Gradio
views (practice, chat, history, trainer) only lay out components and call it. Nothing here
imports Gradio, so every action is tested without a server. Who someone is comes from the
server (the login, or the typed name with login off); every trainer action checks the role
again, because a hidden tab is not a permission.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from roleplay.config import Settings
from roleplay.conversation import MoodUpdate, Reply, ReplyEvent, Restart, Session, Token, Waiting
from roleplay.errors import BackendError, PersonaError, Problem, RoleplayError, StoreError
from roleplay.limits import line_problem
from roleplay.personas import Persona, parse_persona, scan_personas
from roleplay.slots import waiting_text
from roleplay.store import SessionBusy, SessionInfo, TranscriptStore
from roleplay.users import Role, Users
from roleplay.web import render
from roleplay.web.cookies import BrowserCookies
from roleplay.web.publish import PASTED, publish_persona
from roleplay.web.reports import EvaluateFn, MarkdownFn, Reports, ReportView, Scorer
from roleplay.web.rewind import call_extras_html

log = logging.getLogger(__name__)


def message(err: Exception) -> str:
    """Return a core error as one message for the page (a persona's problems one a line)."""
    if isinstance(err, PersonaError):
        return "\n".join(f"{p.field}: {p.message}; {p.fix}" for p in err.problems)
    return str(err)


class Engine(Protocol):
    """The part of roleplay.conversation.ConversationEngine the web app uses."""

    def start(self, persona: Persona, user: str | None = None, sandbox: bool = False) -> Session: ...
    def resume(self, session_id: str, personas: dict[str, Persona]) -> Session: ...
    def stream(self, session: Session, text: str) -> Iterator[ReplyEvent]: ...
    def retry(self, session: Session) -> Iterator[ReplyEvent]: ...


@dataclass(frozen=True)
class Identity:
    """Who is using this browser: their name (None if unknown yet) and role."""

    name: str | None
    role: Role
    browser: str | None = None
    """With login off, the id of the browser's signed cookie (None without a valid one)."""


class NotAllowed(RoleplayError):
    """The user may not do this (wrong role, or somebody else's session)."""


@dataclass
class CallView:
    """What the call panel shows at one moment."""

    messages: list[dict[str, str]]
    mood: str
    error: str | None = None
    retry: bool = False
    keep_text: str = ""
    """Text to put back in the message box (a line that was not sent); "" leaves it alone."""
    busy: bool = False
    """The customer is still answering: Send and End call wait."""
    wait: str | None = None
    """Every model slot is busy: where the reply is in line and roughly how long."""


class WebApp:
    """Every action of the page, written against the engine, the store and the personas."""

    def __init__(self, engine: Engine, store: TranscriptStore, personas_dir: Path,
                 settings: Settings, evaluate_fn: EvaluateFn, markdown_fn: MarkdownFn,
                 users: Users | None = None, files_dir: Path | None = None,
                 scorer: Scorer | None = None):
        self.engine = engine
        self.store = store
        self.personas_dir = personas_dir
        self.settings = settings
        self.evaluate_fn = evaluate_fn
        self.markdown_fn = markdown_fn
        self.users = users
        # Report downloads are written here; Gradio serves files from the temp directory.
        self.files_dir = files_dir or Path(tempfile.mkdtemp(prefix="roleplay-reports-"))
        self.reports = Reports(store, evaluate_fn, markdown_fn, self.files_dir, scorer)
        """Scores and renders reports: with `scorer`, scores at End call and advice streamed
        (the engine's `on_reply` hook calls scorer.prepare after each stored reply)."""
        self.cookies = BrowserCookies(store.signing_key())
        """With login off, the signed cookie that names a browser (see web.cookies)."""

    # --- identity ------------------------------------------------------------------------

    @property
    def login(self) -> bool:
        return self.users is not None

    def identity(self, username: str | None, typed_name: str | None,
                 browser: str | None = None) -> Identity:
        """Return who is asking: the logged-in user, or with login off the typed name and
        the browser (the verified id of its cookie)."""
        if self.users is not None:
            role = self.users.role(username)
            if role is None:
                # Logged in earlier, removed from the users file since: no rights at all.
                raise NotAllowed("your user is no longer in the users file; log in again")
            return Identity(name=username, role=role)
        name = (typed_name or "").strip()
        # With login off nobody is a trainer: publishing personas needs a known person.
        return Identity(name=name[:64] or None, role="trainee", browser=browser)

    def require_name(self, who: Identity) -> str:
        if not who.name:
            raise NotAllowed("type your name at the top of the page first: "
                             "your sessions and reports are kept under it")
        return who.name

    @staticmethod
    def require_trainer(who: Identity) -> None:
        if who.role != "trainer":
            raise NotAllowed("only trainers can use the trainer view; "
                             "log in with a user whose role is trainer")

    def owned_session(self, session_id: str, who: Identity) -> SessionInfo:
        """Return the session's info if `who` may continue or score it; NotAllowed otherwise."""
        info = self.store.info(session_id)
        if info.sandbox:
            raise NotAllowed("that was a trainer's sandbox call; it is not kept in any history")
        if not self._owns(info, who):
            raise NotAllowed("that session belongs to someone else")
        return info

    def readable_session(self, session_id: str, who: Identity) -> SessionInfo:
        """Return the session's info if `who` may read it: its owner, or any trainer."""
        info = self.store.info(session_id)
        if who.role == "trainer" and not info.sandbox:
            return info
        return self.owned_session(session_id, who)

    def _owns(self, info: SessionInfo, who: Identity) -> bool:
        if self.login:
            return info.user == who.name
        if info.browser is not None:
            # Trusted-room mode: the browser that started the call, not whoever has the link.
            return info.browser == who.browser
        # Calls from before browsers were recorded: the typed name, as then.
        return not who.name or info.user == who.name

    def check_call(self, session: Session, who: Identity) -> None:
        """NotAllowed unless `who` may talk in `session` (the page state is the client's
        to name: another user's Gradio session hash holds another user's call)."""
        info = self.store.info(session.session_id)
        if info.sandbox:
            if who.role != "trainer" or info.user != who.name:
                raise NotAllowed("that sandbox call belongs to someone else")
            return
        if not self._owns(info, who):
            raise NotAllowed("that session belongs to someone else")

    # --- personas ------------------------------------------------------------------------

    def catalogue(self) -> tuple[dict[str, Persona], list[Problem]]:
        """The personas that load now, easiest first, and the problems of the files that do
        not: a broken file is skipped and reported, never fatal to the others."""
        personas, problems = scan_personas([self.personas_dir])
        for problem in problems:
            log.warning("persona skipped: %s", problem)
        ordered = dict(sorted(personas.items(), key=lambda kv: (kv[1].difficulty, kv[1].title)))
        return ordered, [self._shown(p) for p in problems]

    def personas(self) -> dict[str, Persona]:
        """The personas that load now, easiest first."""
        return self.catalogue()[0]

    def _shown(self, problem: Problem) -> Problem:
        # The page names the file, not where the server keeps it.
        where = str(self.personas_dir)
        return replace(problem, file=Path(problem.file).name,
                       message=problem.message.replace(where + os.sep, "").replace(where, ""),
                       fix=problem.fix.replace(where + os.sep, "").replace(where, ""))

    # --- a call --------------------------------------------------------------------------

    def start(self, persona_id: str, who: Identity) -> Session:
        """Start a call with `persona_id` for `who` (the opening line is saved)."""
        name = self.require_name(who)
        if not self.login and who.browser is None:
            raise NotAllowed("this browser has no roleplay cookie yet: reload the page (and "
                             "allow cookies for this site), then start the call")
        personas = self.personas()
        if persona_id not in personas:
            raise PersonaError([Problem(str(self.personas_dir), None, "id",
                                        f"the scenario '{persona_id}' is no longer available",
                                        "reload the page to see the current scenarios")])
        session = self.engine.start(personas[persona_id], user=name, sandbox=False)
        if who.browser is not None:
            self.store.bind_browser(session.session_id, who.browser)
        return session

    def resume(self, session_id: str, who: Identity) -> tuple[SessionInfo, Session]:
        """Return a stored call of `who` with every committed turn."""
        info = self.owned_session(session_id, who)
        return info, self.engine.resume(session_id, self.personas())

    def call_view(self, session: Session, pending: str | None = None,
                  error: str | None = None, keep_text: str = "") -> CallView:
        """The chat, mood meter and error state of `session`."""
        rung, reason = render.last_change(session.transcript, session.persona.start_rung)
        busy = pending is not None
        waiting = session.transcript.awaiting_reply and not busy
        if waiting and error is None:
            error = ("The customer has not answered your last line yet. Press Retry, or Take "
                     "back the line to change it.")
        return CallView(
            messages=render.chat_messages(session.transcript, pending),
            mood=render.mood_meter(rung, reason, session.persona.customer.name)
            + call_extras_html(self, session),  # mood path and hint (roleplay.web.rewind)
            error=error, retry=waiting, keep_text=keep_text, busy=busy,
        )

    @contextmanager
    def _answering(self, session_id: str) -> Iterator[None]:
        # Disabled buttons are only a hint: a second tab, the Enter key, a script or another
        # app process can still ask, and two replies at once (or ending the call mid-reply)
        # would interleave turns. The store holds the mark, so it counts across processes.
        try:
            with self.store.answering(session_id):
                yield
        except SessionBusy as err:
            raise NotAllowed(str(err)) from None

    def _check_open(self, session: Session) -> None:
        if self.store.info(session.session_id).ended_at is not None:
            raise NotAllowed("this call has ended; pick a scenario to start a new one")
        # The store is the truth: the same call may be open in another tab of this trainee.
        session.transcript = self.store.load(session.session_id)

    def say(self, session: Session, text: str, who: Identity) -> Iterator[CallView]:
        """Send the trainee's line and yield the call as the reply streams in."""
        self.check_call(session, who)
        problem = line_problem(text)
        if problem is not None:
            # Refused before anything is stored or echoed: a lone surrogate sent back to the
            # browser would break its event stream, an over-long line would jam the call.
            yield self.call_view(session, error=problem)
            return
        try:
            with self._answering(session.session_id):
                self._check_open(session)
                if session.transcript.awaiting_reply:
                    yield self.call_view(session, keep_text=text, error=(
                        "The customer has not answered your last line yet; press Retry "
                        "first, or Take back that line."))
                    return
                yield from self._stream(session, lambda: self.engine.stream(session, text), text)
        except NotAllowed as err:
            yield self.call_view(session, keep_text=text, error=str(err))

    def retry(self, session: Session, who: Identity) -> Iterator[CallView]:
        """Ask for the customer's reply to the saved trainee line again."""
        self.check_call(session, who)
        try:
            with self._answering(session.session_id):
                self._check_open(session)
                if not session.transcript.awaiting_reply:
                    yield self.call_view(session)
                    return
                yield from self._stream(session, lambda: self.engine.retry(session), "")
        except NotAllowed as err:
            yield self.call_view(session, error=str(err))

    def take_back(self, session: Session, who: Identity) -> CallView:
        """Remove the unanswered trainee line and put it back in the box: the way on when
        Retry keeps failing, so a call is never left with End call as the only way out."""
        self.check_call(session, who)
        try:
            with self._answering(session.session_id):
                self._check_open(session)
                turn = self.store.take_back(session.session_id)
                session.transcript = self.store.load(session.session_id)
        except NotAllowed as err:
            return self.call_view(session, error=str(err))
        return self.call_view(session, keep_text=turn.content if turn else "")

    def _stream(self, session: Session, events: Callable[[], Iterator[ReplyEvent]],
                text: str) -> Iterator[CallView]:
        pending = ""
        mood: tuple[str, str] | None = None
        saved = False
        wait: str | None = None
        try:
            for event in events():
                if isinstance(event, Waiting):
                    wait = waiting_text(event.position, event.estimate, event.capacity)
                elif isinstance(event, MoodUpdate):
                    saved = True
                    mood = (event.change.after.value, event.change.reason)
                elif isinstance(event, Token):
                    pending += event.text
                    wait = None
                elif isinstance(event, Restart):
                    pending = ""  # the streamed text broke character; the engine regenerates
                elif isinstance(event, Reply):
                    break
                view = self.call_view(session, pending=pending)  # busy until the Reply
                view.wait = wait
                if mood is not None:
                    view.mood = render.mood_meter(render.Rung(mood[0]), mood[1],
                                                  session.persona.customer.name)
                yield view
        except BackendError as err:
            # The engine saved the trainee turn before asking the model; if it did not get
            # that far, the text goes back into the box so nothing typed is lost.
            kept = "" if saved or session.transcript.awaiting_reply else text
            yield self.call_view(session, error=f"The customer could not answer: {err}",
                                 keep_text=kept)
            return
        except RoleplayError as err:
            yield self.call_view(session, error=str(err), keep_text=text)
            return
        except Exception as err:
            # A bug of ours must not leave the page on "…" with Send disabled: Gradio would
            # show a toast that vanishes and the call would look frozen. The trainee gets the
            # same way on as after a backend failure; the log gets the traceback.
            log.exception("the reply in session %s failed", session.session_id)
            kept = "" if saved or session.transcript.awaiting_reply else text
            yield self.call_view(session, keep_text=kept, error=(
                f"The customer could not answer because of an error on our side "
                f"({type(err).__name__}); your line is saved: press Retry, and if it happens "
                "again tell whoever runs this app (the server log has the details)."))
            return
        yield self.call_view(session)

    # --- reports -------------------------------------------------------------------------

    def end(self, session: Session, who: Identity) -> ReportView:
        """End the call and score it; the final report is saved with the session."""
        *_, last = self.end_stream(session, who)
        return last

    def end_stream(self, session: Session, who: Identity) -> Iterator[ReportView]:
        """End the call and yield its report: the scores first, then as advice comes in."""
        self.owned_session(session.session_id, who)
        # Claimed like a reply, so no line can be added while the call is being closed.
        with self._answering(session.session_id):
            if self.store.info(session.session_id).ended_at is None:
                self.store.end_session(session.session_id)
        yield from self.score(session.session_id, session.persona, prefix="r")

    def score(self, session_id: str, persona: Persona | None, prefix: str
              ) -> Iterator[ReportView]:
        """Evaluate a stored call and yield its view as it fills in; each one is saved."""
        transcript = self.store.load(session_id)
        if not any(t.role == "trainee" for t in transcript.turns):
            yield ReportView(render.notice_box(
                "You ended the call before saying anything, so there is nothing to score."),
                None, None, None)
            return
        if persona is None:
            persona = self.personas().get(transcript.persona_id or "")
            if persona is None:
                raise PersonaError([Problem(str(self.personas_dir), None, "id",
                                            f"the scenario '{transcript.persona_id}' is gone",
                                            "a trainer can publish it again")])
        yield from self.reports.stream(session_id, transcript, persona, prefix)

    def score_stored(self, session_id: str, who: Identity, prefix: str) -> ReportView:
        """Score one of `who`'s ended calls (again); return the final view."""
        *_, last = self.score_stored_stream(session_id, who, prefix)
        return last

    def score_stored_stream(self, session_id: str, who: Identity,
                            prefix: str) -> Iterator[ReportView]:
        """Score one of `who`'s ended calls (again), yielding its view as it fills in."""
        info = self.owned_session(session_id, who)
        if info.ended_at is None:
            raise NotAllowed("this call is not finished; continue it and press End call")
        yield from self.score(session_id, None, prefix)

    def stored_report(self, session_id: str, who: Identity, prefix: str) -> ReportView | None:
        """The saved report of one of `who`'s sessions, or None if it was never scored.

        A saved report that no longer loads is shown as that problem, with scoring offered.
        """
        self.readable_session(session_id, who)
        transcript = self.store.load(session_id)
        try:
            report = self.store.load_report(session_id)
        except StoreError as err:
            return ReportView(render.error_box(str(err)), render.mood_figure(transcript),
                              None, None, rescore=True)
        if report is None:
            return None
        return self.reports.stored(session_id, report, transcript, prefix)

    # --- history -------------------------------------------------------------------------

    def history(self, who: Identity) -> list[SessionInfo]:
        """`who`'s sessions, newest first; sandbox calls never appear. With login off, only
        those this browser may open: a typed name alone shows nobody's calls."""
        if not who.name:
            return []
        sessions = self.store.list_sessions(user=who.name, include_sandbox=False)
        return [s for s in sessions if self._owns(s, who)]

    def history_rows(self, sessions: list[SessionInfo]) -> list[list[str]]:
        titles = {p.id: p.title for p in self.personas().values()}
        rows = []
        for s in sessions:
            status = ("in progress" if s.ended_at is None
                      else "scored" if s.score is not None else "ended, not scored")
            rows.append([s.started_at.strftime("%Y-%m-%d %H:%M UTC"),
                         titles.get(s.persona_id, s.persona_id),
                         f"{s.score:.0f}" if s.score is not None else "–",
                         str(s.turns), status])
        return rows

    # --- trainer -------------------------------------------------------------------------

    def check_persona(self, text: str, who: Identity) -> Persona:
        """Validate pasted persona YAML; PersonaError lists every problem."""
        self.require_trainer(who)
        return parse_persona(text, PASTED)

    def sandbox(self, text: str, who: Identity) -> Session:
        """Start a sandbox call with the pasted persona: kept for recovery, in no history."""
        persona = self.check_persona(text, who)
        return self.engine.start(persona, user=who.name, sandbox=True)

    def publish(self, text: str, replace: bool, who: Identity) -> str:
        """Publish the pasted persona to the personas directory; return what was done."""
        self.require_trainer(who)
        done = publish_persona(text, self.personas_dir, replace=replace)
        log.info("%s published persona %s to %s", who.name, done.persona.id, done.path)
        verb = "Replaced" if done.replaced else "Published"
        return f"{verb} '{done.persona.id}' ({done.persona.title}) as {done.path.name}."
