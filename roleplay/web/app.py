"""The Gradio app: the only module that imports Gradio.

`WebApp` holds the logic of every page action and knows nothing of components; `build_app`
lays the page out and wires each event to a `WebApp` method; `launch_app` serves it. Core
errors (RoleplayError) become visible messages here and nowhere else.

Per-browser state lives in `gr.State` (the call in progress) and in the page URL
(`?session=<id>`), which is what brings a call back after a reload or a server restart. Who
someone is comes from the server: the login (request.username) when ROLEPLAY_USERS is set,
otherwise the name they type. Every trainer action checks the role again on the server,
because a hidden tab is not a permission.
"""

from __future__ import annotations

import os

# Set before Gradio is imported: it reads these at import and at launch. The app is meant
# to run offline and keep trainees' data on the machine, so nothing may phone home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import logging
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import gradio as gr
from matplotlib.figure import Figure

from roleplay.config import Settings
from roleplay.conversation import MoodUpdate, Reply, ReplyEvent, Restart, Session, Token
from roleplay.errors import BackendError, PersonaError, Problem, RoleplayError
from roleplay.personas import Persona, parse_persona, scan_personas
from roleplay.store import SessionInfo, TranscriptStore
from roleplay.transcript import Transcript
from roleplay.users import Role, Users
from roleplay.web import render
from roleplay.web.publish import PASTED, publish_persona

log = logging.getLogger(__name__)


class Engine(Protocol):
    """The part of roleplay.conversation.ConversationEngine the web app uses."""

    def start(self, persona: Persona, user: str | None = None, sandbox: bool = False) -> Session: ...
    def resume(self, session_id: str, personas: dict[str, Persona]) -> Session: ...
    def stream(self, session: Session, text: str) -> Iterator[ReplyEvent]: ...
    def retry(self, session: Session) -> Iterator[ReplyEvent]: ...


class Report(Protocol):
    """What the web app needs of roleplay.evaluator's EvaluationReport."""

    overall_score: float | None

    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


EvaluateFn = Callable[[Transcript, Persona], Report]
"""Scores a finished call: evaluate(transcript, rubric, judge, persona) with the rest bound."""

MarkdownFn = Callable[[dict[str, Any]], str]
"""Renders a stored report (the EvaluationReport as JSON) as Markdown for download."""


@dataclass(frozen=True)
class Identity:
    """Who is using this browser: their name (None if unknown yet) and role."""

    name: str | None
    role: Role


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


@dataclass
class ReportView:
    """What a report panel shows: the HTML, the mood plot and the two download files."""

    html: str
    plot: Figure | None
    markdown_file: Path | None
    json_file: Path | None


class WebApp:
    """Every action of the page, written against the engine, the store and the personas."""

    def __init__(self, engine: Engine, store: TranscriptStore, personas_dir: Path,
                 settings: Settings, evaluate_fn: EvaluateFn, markdown_fn: MarkdownFn,
                 users: Users | None = None, files_dir: Path | None = None):
        self.engine = engine
        self.store = store
        self.personas_dir = personas_dir
        self.settings = settings
        self.evaluate_fn = evaluate_fn
        self.markdown_fn = markdown_fn
        self.users = users
        # Report downloads are written here; Gradio serves files from the temp directory.
        self.files_dir = files_dir or Path(tempfile.mkdtemp(prefix="roleplay-reports-"))
        # Sessions whose reply is being generated. Disabled buttons are only a hint: a second
        # tab, the Enter key or a script can still ask, and two replies at once (or ending the
        # call mid-reply) would interleave turns in the store.
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()

    # --- identity ------------------------------------------------------------------------

    @property
    def login(self) -> bool:
        return self.users is not None

    def identity(self, username: str | None, typed_name: str | None) -> Identity:
        """Return who is asking: the logged-in user, or with login off the typed name."""
        if self.users is not None:
            role = self.users.role(username)
            if role is None:
                # Logged in earlier, removed from the users file since: no rights at all.
                raise NotAllowed("your user is no longer in the users file; log in again")
            return Identity(name=username, role=role)
        name = (typed_name or "").strip()
        # With login off nobody is a trainer: publishing personas needs a known person.
        return Identity(name=name[:64] or None, role="trainee")

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
        """Return the session's info if `who` may see it; NotAllowed otherwise."""
        info = self.store.info(session_id)
        if info.sandbox:
            raise NotAllowed("that was a trainer's sandbox call; it is not kept in any history")
        if self.login and info.user != who.name:
            raise NotAllowed("that session belongs to someone else")
        if not self.login and who.name and info.user != who.name:
            raise NotAllowed("that session belongs to someone else")
        return info

    # --- personas ------------------------------------------------------------------------

    def personas(self) -> dict[str, Persona]:
        """The personas that load now; a broken file is logged, not fatal to the others."""
        personas, problems = scan_personas([self.personas_dir])
        for problem in problems:
            log.warning("persona skipped: %s", problem)
        return dict(sorted(personas.items(), key=lambda kv: (kv[1].difficulty, kv[1].title)))

    # --- a call --------------------------------------------------------------------------

    def start(self, persona_id: str, who: Identity) -> Session:
        """Start a call with `persona_id` for `who` (the opening line is saved)."""
        name = self.require_name(who)
        personas = self.personas()
        if persona_id not in personas:
            raise PersonaError([Problem(str(self.personas_dir), None, "id",
                                        f"the scenario '{persona_id}' is no longer available",
                                        "reload the page to see the current scenarios")])
        return self.engine.start(personas[persona_id], user=name, sandbox=False)

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
            error = "The customer has not answered your last line yet. Press Retry."
        return CallView(
            messages=render.chat_messages(session.transcript, pending),
            mood=render.mood_meter(rung, reason, session.persona.customer.name),
            error=error, retry=waiting, keep_text=keep_text, busy=busy,
        )

    @contextmanager
    def _answering(self, session_id: str) -> Iterator[None]:
        with self._busy_lock:
            if session_id in self._busy:
                raise NotAllowed("the customer is still answering; wait for them to finish")
            self._busy.add(session_id)
        try:
            yield
        finally:
            with self._busy_lock:
                self._busy.discard(session_id)

    def _check_open(self, session: Session) -> None:
        if self.store.info(session.session_id).ended_at is not None:
            raise NotAllowed("this call has ended; pick a scenario to start a new one")
        # The store is the truth: the same call may be open in another tab of this trainee.
        session.transcript = self.store.load(session.session_id)

    def say(self, session: Session, text: str) -> Iterator[CallView]:
        """Send the trainee's line and yield the call as the reply streams in."""
        try:
            with self._answering(session.session_id):
                self._check_open(session)
                if session.transcript.awaiting_reply:
                    yield self.call_view(session, keep_text=text, error=(
                        "The customer has not answered your last line yet; press Retry first."))
                    return
                yield from self._stream(session, lambda: self.engine.stream(session, text), text)
        except NotAllowed as err:
            yield self.call_view(session, keep_text=text, error=str(err))

    def retry(self, session: Session) -> Iterator[CallView]:
        """Ask for the customer's reply to the saved trainee line again."""
        try:
            with self._answering(session.session_id):
                self._check_open(session)
                if not session.transcript.awaiting_reply:
                    yield self.call_view(session)
                    return
                yield from self._stream(session, lambda: self.engine.retry(session), "")
        except NotAllowed as err:
            yield self.call_view(session, error=str(err))

    def _stream(self, session: Session, events: Callable[[], Iterator[ReplyEvent]],
                text: str) -> Iterator[CallView]:
        pending = ""
        mood: tuple[str, str] | None = None
        saved = False
        try:
            for event in events():
                if isinstance(event, MoodUpdate):
                    saved = True
                    mood = (event.change.after.value, event.change.reason)
                elif isinstance(event, Token):
                    pending += event.text
                elif isinstance(event, Restart):
                    pending = ""  # the streamed text broke character; the engine regenerates
                elif isinstance(event, Reply):
                    break
                view = self.call_view(session, pending=pending)  # busy until the Reply
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
        yield self.call_view(session)

    # --- reports -------------------------------------------------------------------------

    def end(self, session: Session) -> ReportView:
        """End the call and score it; the report is saved with the session."""
        # Claimed like a reply, so no line can be added while the call is being closed.
        with self._answering(session.session_id):
            if self.store.info(session.session_id).ended_at is None:
                self.store.end_session(session.session_id)
        return self.score(session.session_id, session.persona, prefix="r")

    def score(self, session_id: str, persona: Persona | None, prefix: str) -> ReportView:
        """Evaluate a stored call, save the report, and return its view."""
        transcript = self.store.load(session_id)
        if not any(t.role == "trainee" for t in transcript.turns):
            return ReportView(render.notice_box(
                "You ended the call before saying anything, so there is nothing to score."),
                None, None, None)
        if persona is None:
            persona = self.personas().get(transcript.persona_id or "")
            if persona is None:
                raise PersonaError([Problem(str(self.personas_dir), None, "id",
                                            f"the scenario '{transcript.persona_id}' is gone",
                                            "a trainer can publish it again")])
        report = self.evaluate_fn(transcript, persona)
        data = report.model_dump(mode="json")
        self.store.save_report(session_id, data, report.overall_score)
        return self.report_view(session_id, data, transcript, prefix)

    def report_view(self, session_id: str, data: dict[str, Any], transcript: Transcript,
                    prefix: str) -> ReportView:
        md, js = render.write_report_files(data, self.markdown_fn(data), session_id,
                                           self.files_dir)
        return ReportView(render.report_html(data, transcript, prefix),
                          render.mood_figure(transcript), md, js)

    def score_stored(self, session_id: str, who: Identity, prefix: str) -> ReportView:
        """Score one of `who`'s ended calls that has no report yet."""
        info = self.owned_session(session_id, who)
        if info.ended_at is None:
            raise NotAllowed("this call is not finished; continue it and press End call")
        return self.score(session_id, None, prefix)

    def stored_report(self, session_id: str, who: Identity, prefix: str) -> ReportView | None:
        """The saved report of one of `who`'s sessions, or None if it was never scored."""
        self.owned_session(session_id, who)
        data = self.store.load_report(session_id)
        if data is None:
            return None
        return self.report_view(session_id, data, self.store.load(session_id), prefix)

    # --- history -------------------------------------------------------------------------

    def history(self, who: Identity) -> list[SessionInfo]:
        """`who`'s sessions, newest first; sandbox calls never appear."""
        if not who.name:
            return []
        return self.store.list_sessions(user=who.name, include_sandbox=False)

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


# --- the page ------------------------------------------------------------------------------

# After a call starts or ends, the page URL says which session it shows, so a reload finds it.
_URL_JS = """(sid) => {
  const url = new URL(window.location.href);
  if (sid) { url.searchParams.set('session', sid); } else { url.searchParams.delete('session'); }
  window.history.replaceState(null, '', url);
}"""


def _message(err: Exception) -> str:
    if isinstance(err, PersonaError):
        return "\n".join(f"{p.field}: {p.message}; {p.fix}" for p in err.problems)
    return str(err)


def _username(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request is not None else None


def build_app(engine: Engine, store: TranscriptStore, personas_dir: Path, settings: Settings,
              evaluate_fn: EvaluateFn, markdown_fn: MarkdownFn, users: Users | None = None,
              files_dir: Path | None = None) -> gr.Blocks:
    """Return the app's Blocks; serve it with launch_app()."""
    app = WebApp(engine, store, personas_dir, settings, evaluate_fn, markdown_fn, users,
                 files_dir)

    def who(request: gr.Request | None, typed: str | None) -> Identity:
        try:
            return app.identity(_username(request), typed)
        except NotAllowed as err:
            raise gr.Error(str(err)) from err

    with gr.Blocks(title="Roleplay – customer-service training", analytics_enabled=False,
                   fill_width=False) as demo:
        call_state = gr.State(None)
        sandbox_state = gr.State(None)
        history_ids = gr.State([])
        with gr.Row(equal_height=True):
            gr.Markdown("# Customer-service roleplay", elem_id="app-title")
            whoami = gr.Markdown(elem_id="whoami")
            name_box = gr.Textbox(label="Your name", placeholder="Type your name to start",
                                  visible=not app.login, elem_id="name", max_lines=1)
        # Holds the session id for the URL script; hidden with CSS so its value reaches it.
        sid_box = gr.Textbox(elem_id="session-id", elem_classes=["rp-hidden"], show_label=False,
                             container=False)

        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("Practice", id="practice", elem_id="tab-practice"):
                with gr.Column(visible=True, elem_id="picker") as picker_col:
                    gr.Markdown("## Pick a scenario")
                    picker_msg = gr.HTML(elem_id="picker-message")
                    cards_slot = gr.Column()
                with gr.Column(visible=False, elem_id="call") as call_col:
                    call_title = gr.HTML(elem_id="call-title")
                    with gr.Row():
                        with gr.Column(scale=3):
                            chat = gr.Chatbot(
                                label="Call", elem_id="chat", height=440,
                                # Text only: messages are escaped in render.chat_text and
                                # shown as-is; no Markdown, LaTeX or custom tags.
                                render_markdown=False, sanitize_html=True, allow_tags=False,
                                latex_delimiters=[], buttons=[], feedback_options=None,
                                group_consecutive_messages=False, layout="bubble")
                            call_error = gr.HTML(visible=False, elem_id="call-error")
                            retry_btn = gr.Button("Retry", visible=False, elem_id="retry")
                            with gr.Row():
                                msg_box = gr.Textbox(
                                    show_label=False, scale=5, elem_id="message", max_lines=6,
                                    placeholder="What do you say to the customer? (Enter sends)")
                                send_btn = gr.Button("Send", variant="primary", scale=1,
                                                     elem_id="send")
                        with gr.Column(scale=2):
                            mood_html = gr.HTML(elem_id="mood")
                            end_btn = gr.Button("End call", variant="stop", elem_id="end-call")
                with gr.Column(visible=False, elem_id="report-panel") as report_col:
                    report_html = gr.HTML(elem_id="report")
                    rescore_btn = gr.Button("Score the call again", visible=False,
                                            elem_id="rescore")
                    mood_plot = gr.Plot(label="Mood over the call", elem_id="mood-plot",
                                        format="png")
                    with gr.Row():
                        dl_md = gr.DownloadButton("Download Markdown", elem_id="download-md",
                                                  visible=False)
                        dl_json = gr.DownloadButton("Download JSON", elem_id="download-json",
                                                    visible=False)
                    new_btn = gr.Button("Back to the scenarios", elem_id="new-call")

            with gr.Tab("History", id="history", elem_id="tab-history") as history_tab:
                history_msg = gr.HTML()
                history_table = gr.Dataframe(
                    headers=["Date", "Scenario", "Score", "Turns", "Status"],
                    datatype=["str"] * 5, interactive=False, elem_id="history-table",
                    label="Your sessions (select one to see its report)")
                score_plot = gr.Plot(label="Score across sessions", elem_id="score-plot",
                                     format="png")
                history_report = gr.HTML(elem_id="history-report")
                with gr.Row():
                    history_continue = gr.Button("Continue this call", visible=False,
                                                 elem_id="history-continue")
                    history_score = gr.Button("Score this call", visible=False,
                                              elem_id="history-score")
                history_selected = gr.State(None)
                history_mood = gr.Plot(label="Mood over the call", elem_id="history-mood",
                                       format="png", visible=False)
                with gr.Row():
                    history_md = gr.DownloadButton("Download Markdown", visible=False,
                                                   elem_id="history-download-md")
                    history_json = gr.DownloadButton("Download JSON", visible=False,
                                                     elem_id="history-download-json")

            with gr.Tab("Trainer", id="trainer", visible=False,
                        elem_id="tab-trainer") as trainer_tab:
                gr.Markdown("Paste a persona or upload its file, check it, try it in a sandbox "
                            "call (kept in nobody's history), then publish it for trainees.")
                yaml_box = gr.Code(language="yaml", label="Persona YAML", lines=18,
                                   max_lines=24, interactive=True, elem_id="persona-yaml")
                with gr.Row():
                    upload_btn = gr.UploadButton("Upload a .yaml file",
                                                 file_types=[".yaml", ".yml"], type="binary",
                                                 elem_id="persona-upload")
                    validate_btn = gr.Button("Validate", elem_id="persona-validate")
                    sandbox_btn = gr.Button("Try in sandbox", elem_id="sandbox-start")
                validation = gr.HTML(elem_id="persona-validation")
                with gr.Row():
                    replace_box = gr.Checkbox(label="Replace the existing persona with this id",
                                              elem_id="persona-replace")
                    publish_btn = gr.Button("Publish", variant="primary",
                                            elem_id="persona-publish")
                publish_msg = gr.HTML(elem_id="publish-result")
                with gr.Column(visible=False, elem_id="sandbox") as sandbox_col:
                    gr.Markdown("### Sandbox call (not saved to anyone's history)")
                    with gr.Row():
                        with gr.Column(scale=3):
                            sandbox_chat = gr.Chatbot(
                                label="Sandbox", elem_id="sandbox-chat", height=360,
                                render_markdown=False, sanitize_html=True, allow_tags=False,
                                latex_delimiters=[], buttons=[], feedback_options=None,
                                group_consecutive_messages=False)
                            sandbox_error = gr.HTML(visible=False, elem_id="sandbox-error")
                            sandbox_retry = gr.Button("Retry", visible=False,
                                                      elem_id="sandbox-retry")
                            with gr.Row():
                                sandbox_box = gr.Textbox(show_label=False, scale=5, max_lines=6,
                                                         elem_id="sandbox-message",
                                                         placeholder="Talk to your persona")
                                sandbox_send = gr.Button("Send", scale=1, elem_id="sandbox-send")
                        sandbox_mood = gr.HTML(elem_id="sandbox-mood")

        # --- scenario cards: rebuilt on each page load so new personas show up -------------
        call_outputs = [picker_col, call_col, report_col, picker_msg, call_title, chat,
                        mood_html, call_error, retry_btn, msg_box, sid_box, call_state,
                        report_html, rescore_btn, mood_plot, dl_md, dl_json, send_btn, end_btn]

        def show_call(session: Session, view: CallView) -> dict[Any, Any]:
            p = session.persona
            return {
                picker_col: gr.Column(visible=False), call_col: gr.Column(visible=True),
                report_col: gr.Column(visible=False), picker_msg: "",
                call_title: render.call_header(p),
                chat: view.messages, mood_html: view.mood,
                call_error: gr.HTML(value=render.error_box(view.error) if view.error else "",
                                    visible=view.error is not None),
                retry_btn: gr.Button(visible=view.retry, interactive=True),
                send_btn: gr.Button(interactive=True), end_btn: gr.Button(interactive=True),
                msg_box: view.keep_text, sid_box: session.session_id, call_state: session,
            }

        def show_report(view: ReportView, session_id: str, rescore: bool = False
                        ) -> dict[Any, Any]:
            return {
                picker_col: gr.Column(visible=False), call_col: gr.Column(visible=False),
                report_col: gr.Column(visible=True), report_html: view.html,
                rescore_btn: gr.Button(visible=rescore), mood_plot: view.plot,
                dl_md: gr.DownloadButton(value=view.markdown_file,
                                         visible=view.markdown_file is not None),
                dl_json: gr.DownloadButton(value=view.json_file,
                                           visible=view.json_file is not None),
                sid_box: session_id,
            }

        def show_picker(message: str = "") -> dict[Any, Any]:
            return {picker_col: gr.Column(visible=True), call_col: gr.Column(visible=False),
                    report_col: gr.Column(visible=False), picker_msg: message,
                    call_state: None, sid_box: "", chat: [], msg_box: ""}

        def start_call(persona_id: str, typed: str | None,
                       request: gr.Request) -> Iterator[dict[Any, Any]]:
            try:
                me = who(request, typed)
                app.require_name(me)
            except NotAllowed as err:
                yield {picker_msg: render.error_box(str(err))}
                return
            yield {picker_msg: render.notice_box(
                "Connecting the call… (the first call can take a few seconds)")}
            try:
                session = app.start(persona_id, me)
            except RoleplayError as err:
                yield {picker_msg: render.error_box(_message(err))}
                return
            yield show_call(session, app.call_view(session))

        with cards_slot:
            @gr.render(triggers=[demo.load])
            def cards() -> None:
                personas = app.personas()
                if not personas:
                    gr.Markdown(f"No scenarios found in `{personas_dir}`.")
                with gr.Row(elem_classes=["rp-cards-row"]):
                    for persona in personas.values():
                        with gr.Column(min_width=260, elem_classes=["rp-card"]):
                            gr.HTML(render.scenario_card(persona))
                            button = gr.Button("Start call", elem_id=f"start-{persona.id}",
                                               size="sm")
                            button.click(
                                _bind(start_call, persona.id), inputs=[name_box],
                                outputs=call_outputs, concurrency_id="model",
                                concurrency_limit="default", show_progress_on=[picker_msg])

        # --- the call ---------------------------------------------------------------------
        def call_updates(session: Session, views: Iterator[CallView]) -> Iterator[dict[Any, Any]]:
            for view in views:
                out = {chat: view.messages, mood_html: view.mood,
                       call_error: gr.HTML(value=render.error_box(view.error)
                                           if view.error else "",
                                           visible=view.error is not None),
                       retry_btn: gr.Button(visible=view.retry, interactive=not view.busy),
                       send_btn: gr.Button(interactive=not view.busy),
                       end_btn: gr.Button(interactive=not view.busy),
                       call_state: session}
                # The box is left alone otherwise: the trainee may be typing the next line.
                if view.keep_text:
                    out[msg_box] = view.keep_text
                yield out

        def send(text: str, session: Session | None) -> Iterator[dict[Any, Any]]:
            if session is None:
                raise gr.Error("Pick a scenario first.")
            if not text.strip():
                return
            # The text box empties at once; the line shows in the chat while the reply streams.
            yield {msg_box: "", send_btn: gr.Button(interactive=False),
                   end_btn: gr.Button(interactive=False),
                   chat: render.chat_messages(session.transcript)
                   + [{"role": "user", "content": render.chat_text(text)},
                      {"role": "assistant", "content": "…"}]}
            yield from call_updates(session, app.say(session, text))

        def retry(session: Session | None) -> Iterator[dict[Any, Any]]:
            if session is None:
                raise gr.Error("Pick a scenario first.")
            yield from call_updates(session, app.retry(session))

        call_parts = [chat, mood_html, call_error, retry_btn, msg_box, call_state, send_btn,
                      end_btn]
        for trigger in (msg_box.submit, send_btn.click):
            # No progress overlay: the "…" bubble and the disabled buttons say it is working.
            trigger(send, inputs=[msg_box, call_state], outputs=call_parts,
                    concurrency_id="model", concurrency_limit="default", show_progress="hidden")
        retry_btn.click(retry, inputs=[call_state], outputs=call_parts,
                        concurrency_id="model", concurrency_limit="default",
                        show_progress="hidden")

        def end_call(session: Session | None) -> Iterator[dict[Any, Any]]:
            if session is None:
                raise gr.Error("There is no call to end.")
            yield {picker_col: gr.Column(visible=False), call_col: gr.Column(visible=False),
                   report_col: gr.Column(visible=True), rescore_btn: gr.Button(visible=False),
                   report_html: render.notice_box("Call ended. Scoring it against the "
                                                  "principles… this can take a minute."),
                   mood_plot: render.mood_figure(session.transcript),
                   dl_md: gr.DownloadButton(visible=False),
                   dl_json: gr.DownloadButton(visible=False)}
            try:
                view = app.end(session)
            except RoleplayError as err:
                yield {report_html: render.error_box(f"The call was saved but could not be "
                                                     f"scored: {_message(err)}"),
                       rescore_btn: gr.Button(visible=True)}
                return
            yield show_report(view, session.session_id)

        # Scoring takes minutes on a small model; its own queue keeps live calls answering.
        end_btn.click(end_call, inputs=[call_state], outputs=call_outputs,
                      concurrency_id="evaluate", concurrency_limit=1,
                      show_progress_on=[report_html])

        def rescore(session: Session | None) -> Iterator[dict[Any, Any]]:
            yield from end_call(session)

        rescore_btn.click(rescore, inputs=[call_state], outputs=call_outputs,
                          concurrency_id="evaluate", concurrency_limit=1,
                          show_progress_on=[report_html])
        new_btn.click(lambda: show_picker(), outputs=call_outputs, concurrency_limit=None)
        # The session id reaches the URL only through this script (see _URL_JS).
        sid_box.change(None, inputs=[sid_box], js=_URL_JS, queue=False)

        # --- page load: identity, trainer tab, and the call named in the URL ---------------
        load_outputs = [*call_outputs, whoami, name_box, trainer_tab]

        def on_load(typed: str | None, request: gr.Request) -> dict[Any, Any]:
            try:
                me = app.identity(_username(request), typed)
            except NotAllowed as err:
                return {whoami: str(err)}
            out: dict[Any, Any] = {trainer_tab: gr.Tab(visible=me.role == "trainer")}
            out[whoami] = (f"Signed in as **{me.name}** ({me.role}) · [Log out](logout)"
                           if app.login else "")
            session_id = (request.query_params.get("session") or "").strip()
            if not session_id:
                return out
            try:
                info, session = app.resume(session_id, me)
            except RoleplayError as err:
                out.update(show_picker(render.error_box(
                    f"Could not reopen the session in the address bar: {_message(err)}")))
                return out
            if not app.login and not me.name:
                out[name_box] = info.user or ""
            if info.ended_at is None:
                out.update(show_call(session, app.call_view(session)))
                return out
            report = app.stored_report(session_id, me, "r")
            if report is None:
                out.update(show_report(ReportView(render.notice_box(
                    "This call ended without a report."), render.mood_figure(
                        session.transcript), None, None), session_id, rescore=True))
                out[call_state] = session
            else:
                out.update(show_report(report, session_id))
                out[call_state] = session
            return out

        # Then the URL follows what was opened: a refused or vanished session leaves it.
        demo.load(on_load, inputs=[name_box], outputs=load_outputs, concurrency_limit=None
                  ).then(None, inputs=[sid_box], js=_URL_JS, queue=False)

        # --- history ------------------------------------------------------------------------
        history_outputs = [history_msg, history_table, score_plot, history_ids, history_report,
                           history_mood, history_md, history_json, history_continue,
                           history_score, history_selected]

        def history_view(view: ReportView | None, html: str | None = None,
                         resume: bool = False, score: bool = False) -> dict[Any, Any]:
            return {history_report: view.html if view else html or "",
                    history_mood: gr.Plot(value=view.plot if view else None,
                                          visible=bool(view and view.plot)),
                    history_md: gr.DownloadButton(value=view.markdown_file if view else None,
                                                  visible=bool(view and view.markdown_file)),
                    history_json: gr.DownloadButton(value=view.json_file if view else None,
                                                    visible=bool(view and view.json_file)),
                    history_continue: gr.Button(visible=resume),
                    history_score: gr.Button(visible=score)}

        def show_history(typed: str | None, request: gr.Request) -> dict[Any, Any]:
            me = who(request, typed)
            if not me.name:
                return {history_msg: render.notice_box("Type your name to see your sessions."),
                        history_table: [], score_plot: None, history_ids: []}
            sessions = app.history(me)
            return {history_msg: "" if sessions else render.notice_box("No sessions yet."),
                    history_table: app.history_rows(sessions),
                    score_plot: render.score_figure(sessions),
                    history_ids: [s.session_id for s in sessions], history_selected: None,
                    **history_view(None)}

        def open_history(ids: list[str], typed: str | None, evt: gr.SelectData,
                         request: gr.Request) -> dict[Any, Any]:
            me = who(request, typed)
            row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
            if not isinstance(row, int) or not 0 <= row < len(ids):
                return {}
            try:
                info = app.owned_session(ids[row], me)
                view = app.stored_report(ids[row], me, "h")
            except RoleplayError as err:
                return history_view(None, render.error_box(_message(err)))
            if view is not None:
                return {**history_view(view), history_selected: ids[row]}
            if info.ended_at is None:
                return {**history_view(None, render.notice_box(
                    "This call is not finished yet."), resume=True), history_selected: ids[row]}
            return {**history_view(None, render.notice_box("This call ended without a report."),
                                   score=True), history_selected: ids[row]}

        def continue_call(session_id: str | None, typed: str | None,
                          request: gr.Request) -> dict[Any, Any]:
            me = who(request, typed)
            try:
                _, session = app.resume(session_id or "", me)
            except RoleplayError as err:
                raise gr.Error(_message(err)) from err
            return {**show_call(session, app.call_view(session)),
                    tabs: gr.Tabs(selected="practice")}

        def score_call(session_id: str | None, typed: str | None,
                       request: gr.Request) -> Iterator[dict[Any, Any]]:
            me = who(request, typed)
            yield history_view(None, render.notice_box("Scoring the call… this can take a "
                                                       "minute."))
            try:
                view = app.score_stored(session_id or "", me, "h")
            except RoleplayError as err:
                yield history_view(None, render.error_box(_message(err)), score=True)
                return
            yield history_view(view)

        history_tab.select(show_history, inputs=[name_box], outputs=history_outputs,
                           concurrency_limit=None)
        history_table.select(open_history, inputs=[history_ids, name_box],
                             outputs=history_outputs, concurrency_limit=None)
        history_continue.click(continue_call, inputs=[history_selected, name_box],
                               outputs=[*call_outputs, tabs], concurrency_limit=None)
        history_score.click(score_call, inputs=[history_selected, name_box],
                            outputs=history_outputs, concurrency_id="evaluate",
                            concurrency_limit=1)

        # --- trainer ------------------------------------------------------------------------
        def check(text: str, request: gr.Request) -> str:
            me = who(request, None)
            try:
                persona = app.check_persona(text or "", me)
            except NotAllowed as err:
                raise gr.Error(str(err)) from err
            except PersonaError as err:
                return render.problems_html(err.problems)
            return render.notice_box(f"Valid: '{persona.id}' – {persona.title}.")

        def validate(text: str, request: gr.Request) -> dict[Any, Any]:
            # A new check makes the last publish message stale.
            return {validation: check(text, request), publish_msg: ""}

        def upload(data: bytes | None, request: gr.Request) -> dict[Any, Any]:
            me = who(request, None)
            try:
                app.require_trainer(me)
            except NotAllowed as err:
                raise gr.Error(str(err)) from err
            if data is None:
                return {}
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return {validation: render.error_box(
                    "The file is not UTF-8 text; save it as UTF-8 and upload it again.")}
            return {yaml_box: text, validation: check(text, request), publish_msg: ""}

        validate_btn.click(validate, inputs=[yaml_box], outputs=[validation, publish_msg],
                           concurrency_limit=None)
        upload_btn.upload(upload, inputs=[upload_btn],
                          outputs=[yaml_box, validation, publish_msg], concurrency_limit=None)

        def publish(text: str, replace: bool, request: gr.Request) -> dict[Any, Any]:
            me = who(request, None)
            try:
                done = app.publish(text or "", replace, me)
            except NotAllowed as err:
                raise gr.Error(str(err)) from err
            except PersonaError as err:
                return {publish_msg: render.error_box("Not published."),
                        validation: render.problems_html(err.problems)}
            return {publish_msg: render.notice_box(done + " Trainees see it on their next "
                                                   "page load."), validation: ""}

        publish_btn.click(publish, inputs=[yaml_box, replace_box],
                          outputs=[publish_msg, validation], concurrency_limit=None,
                          api_name="publish_persona")

        sandbox_parts = [sandbox_col, sandbox_chat, sandbox_mood, sandbox_error, sandbox_retry,
                         sandbox_box, sandbox_state, validation, sandbox_send, publish_msg]

        def sandbox_updates(session: Session, views: Iterator[CallView]
                            ) -> Iterator[dict[Any, Any]]:
            for view in views:
                out = {sandbox_col: gr.Column(visible=True), sandbox_chat: view.messages,
                       sandbox_mood: view.mood,
                       sandbox_error: gr.HTML(value=render.error_box(view.error)
                                              if view.error else "",
                                              visible=view.error is not None),
                       sandbox_retry: gr.Button(visible=view.retry, interactive=not view.busy),
                       sandbox_send: gr.Button(interactive=not view.busy),
                       sandbox_state: session}
                if view.keep_text:
                    out[sandbox_box] = view.keep_text
                yield out

        def sandbox_start(text: str, request: gr.Request) -> Iterator[dict[Any, Any]]:
            me = who(request, None)
            try:
                session = app.sandbox(text or "", me)
            except NotAllowed as err:
                raise gr.Error(str(err)) from err
            except PersonaError as err:
                yield {validation: render.problems_html(err.problems)}
                return
            except RoleplayError as err:
                yield {validation: render.error_box(_message(err))}
                return
            yield {validation: render.notice_box(f"Sandbox call with '{session.persona.id}'."),
                   publish_msg: ""}
            yield from sandbox_updates(session, iter([app.call_view(session)]))

        def sandbox_say(text: str, session: Session | None,
                        request: gr.Request) -> Iterator[dict[Any, Any]]:
            try:
                app.require_trainer(who(request, None))
            except NotAllowed as err:
                raise gr.Error(str(err)) from err
            if session is None or not text.strip():
                return
            yield {sandbox_box: "", sandbox_send: gr.Button(interactive=False),
                   sandbox_chat: render.chat_messages(session.transcript)
                   + [{"role": "user", "content": render.chat_text(text)},
                      {"role": "assistant", "content": "…"}]}
            yield from sandbox_updates(session, app.say(session, text))

        def sandbox_again(session: Session | None, request: gr.Request
                          ) -> Iterator[dict[Any, Any]]:
            try:
                app.require_trainer(who(request, None))
            except NotAllowed as err:
                raise gr.Error(str(err)) from err
            if session is not None:
                yield from sandbox_updates(session, app.retry(session))

        sandbox_btn.click(sandbox_start, inputs=[yaml_box], outputs=sandbox_parts,
                          concurrency_id="model", concurrency_limit="default",
                          api_name="sandbox_start", show_progress_on=[validation])
        for trigger in (sandbox_box.submit, sandbox_send.click):
            trigger(sandbox_say, inputs=[sandbox_box, sandbox_state], outputs=sandbox_parts,
                    concurrency_id="model", concurrency_limit="default", show_progress="hidden")
        sandbox_retry.click(sandbox_again, inputs=[sandbox_state], outputs=sandbox_parts,
                            concurrency_id="model", concurrency_limit="default",
                            show_progress="hidden")
    return demo


def _bind(fn: Callable[..., Iterator[dict[Any, Any]]], persona_id: str
          ) -> Callable[..., Iterator[dict[Any, Any]]]:
    """Return `fn` with the persona id fixed, keeping the signature Gradio inspects."""
    def bound(typed: str | None, request: gr.Request) -> Iterator[dict[Any, Any]]:
        yield from fn(persona_id, typed, request)
    return bound


def theme() -> gr.themes.Base:
    """Gradio's default look on the system's own fonts: the stock theme loads Google Fonts."""
    return gr.themes.Default(font=["system-ui", "Segoe UI", "Roboto", "sans-serif"],
                             font_mono=["ui-monospace", "Consolas", "monospace"])


def app_from_settings(settings: Settings) -> tuple[gr.Blocks, Users | None]:
    """Build the app on the configured backend, store, rubric and users file.

    The model server (the embedded one unless a backend is configured) starts here, before
    the page is served, and is shared by every browser: the engine and the judge both talk
    to the one `base_url`.
    """
    from roleplay.conversation import ConversationEngine
    from roleplay.evaluator import evaluate
    from roleplay.judge import Judge
    from roleplay.report import EvaluationReport, render_markdown
    from roleplay.rubric import load_rubric
    from roleplay.store import SqliteStore
    from roleplay.users import load_users

    users = load_users(settings.users_file) if settings.users_file else None
    rubric = load_rubric(settings.prompts_dir / "rubric.yaml")
    store = SqliteStore(settings.db_path)
    engine = ConversationEngine.from_settings(settings, store)
    judge = Judge.from_settings(settings)

    def evaluate_call(transcript: Transcript, persona: Persona) -> EvaluationReport:
        return evaluate(transcript, rubric, judge=judge, persona=persona)

    def markdown(report: dict[str, Any]) -> str:
        return render_markdown(EvaluationReport.model_validate(report))

    demo = build_app(engine, store, settings.personas_dir, settings, evaluate_call, markdown,
                     users)
    return demo, users


def launch_app(demo: gr.Blocks, settings: Settings, users: Users | None = None,
               block: bool = True, port: int | None = None) -> gr.Blocks:
    """Serve `demo` on settings.host:port with the queue limit and, if configured, login."""
    demo.queue(default_concurrency_limit=settings.concurrency)
    demo.launch(
        server_name=settings.host, server_port=port or settings.port,
        auth=users.authenticate if users is not None else None,
        auth_message="Log in with the name and password your trainer gave you.",
        share=False, prevent_thread_lock=not block, show_error=True, quiet=not block,
        theme=theme(), css=render.CSS,
        ssr_mode=False, pwa=False, mcp_server=False, footer_links=[],
    )
    return demo
