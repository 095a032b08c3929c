"""The Gradio app: lays the page out from its views and serves it.

The page is a header (who is signed in), three tabs and the page-load handler that reopens
the call named in the URL (`?session=<id>`), which is what brings a call back after a reload
or a server restart. Each tab is its own module (`practice`, `history`, `trainer`; the chat
panel in `chat`), and every action they call is a `WebApp` method in `actions`, which knows
nothing of Gradio. Only the modules of this package that lay out components import Gradio.
"""

from __future__ import annotations

import os

# Set before Gradio is imported: it reads these at import and at launch. The app is meant
# to run offline and keep trainees' data on the machine, so nothing may phone home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from roleplay.config import Settings
from roleplay.errors import RoleplayError
from roleplay.personas import Persona
from roleplay.store import TranscriptStore
from roleplay.store.logins import SqlFailureLog
from roleplay.transcript import Transcript
from roleplay.users import Users
from roleplay.web import render
from roleplay.web.actions import (
    Engine,
    EvaluateFn,
    Identity,
    MarkdownFn,
    NotAllowed,
    ReportView,
    WebApp,
    message,
)
from roleplay.web.coached import CoachedApp
from roleplay.web.dashboard import dashboard_view
from roleplay.web.gate import Gate, LoginGate, LoginThrottle
from roleplay.web.history import history_view
from roleplay.web.page import URL_JS, Updates, identity
from roleplay.web.practice import Practice, practice_view
from roleplay.web.reports import Scorer
from roleplay.web.trainer import trainer_view

__all__ = ["Identity", "NotAllowed", "WebApp", "app_from_settings", "build_app", "launch_app"]


class Page(gr.Blocks):
    """The app's Blocks and the WebApp behind them (launch_app's gate asks it who owns what)."""

    webapp: CoachedApp


def build_app(engine: Engine, store: TranscriptStore, personas_dir: Path, settings: Settings,
              evaluate_fn: EvaluateFn, markdown_fn: MarkdownFn, users: Users | None = None,
              files_dir: Path | None = None, scorer: Scorer | None = None) -> Page:
    """Return the app's Blocks; serve it with launch_app(). With `scorer`, End call shows
    the scores at once and streams the advice in; without, `evaluate_fn` scores the call."""
    app = CoachedApp(engine, store, personas_dir, settings, evaluate_fn, markdown_fn, users,
                     files_dir, scorer)
    with Page(title="Roleplay – customer-service training", analytics_enabled=False,
              fill_width=False) as demo:
        demo.webapp = app
        with gr.Row(equal_height=True):
            gr.Markdown("# Customer-service roleplay", elem_id="app-title")
            whoami = gr.Markdown(elem_id="whoami")
            name_box = gr.Textbox(label="Your name", placeholder="Type your name to start",
                                  visible=not app.login, elem_id="name", max_lines=1)
        if not app.login:
            gr.HTML(render.notice_box(TRUSTED_ROOM), elem_id="trusted-room")
        # Holds the session id for the URL script; hidden with CSS so its value reaches it.
        sid_box = gr.Textbox(elem_id="session-id", elem_classes=["rp-hidden"], show_label=False,
                             container=False)
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("Practice", id="practice", elem_id="tab-practice"):
                practice = practice_view(app, demo, name_box, sid_box)
            with gr.Tab("History", id="history", elem_id="tab-history") as history_tab:
                history_view(app, history_tab, tabs, name_box, practice)
            with gr.Tab("Trainer", id="trainer", visible=False,
                        elem_id="tab-trainer") as trainer_tab:
                trainer_view(app, trainer_tab)
            with gr.Tab("Team", id="team", visible=False, elem_id="tab-team") as team_tab:
                dashboard_view(app, team_tab)
        # The session id reaches the URL only through this script (see URL_JS).
        sid_box.change(None, inputs=[sid_box], js=URL_JS, queue=False)

        def on_load(typed: str | None, request: gr.Request) -> Updates:
            try:
                me = identity(app, request, typed)
            except NotAllowed as err:
                return {whoami: str(err)}
            out: Updates = {trainer_tab: gr.Tab(visible=me.role == "trainer"),
                            team_tab: gr.Tab(visible=me.role == "trainer"),
                            whoami: (f"Signed in as **{me.name}** ({me.role}) · "
                                     "[Log out](logout)" if app.login else "")}
            session_id = (request.query_params.get("session") or "").strip()
            if session_id:
                out.update(_reopen(app, practice, session_id, me, name_box))
            return out

        # Then the URL follows what was opened: a refused or vanished session leaves it.
        demo.load(on_load, inputs=[name_box],
                  outputs=[*practice.outputs, whoami, name_box, trainer_tab, team_tab],
                  concurrency_limit=None).then(None, inputs=[sid_box], js=URL_JS, queue=False)
    return demo


def _reopen(app: WebApp, practice: Practice, session_id: str, me: Identity,
            name_box: gr.Textbox) -> Updates:
    """The page for the session in the address bar: the call, its report, or why not."""
    try:
        info = app.readable_session(session_id, me)
        if me.role == "trainer" and info.user != me.name:
            # A trainer reading a trainee's call: its report only, never the call to go on.
            if info.ended_at is None:
                raise NotAllowed("that call is not finished; its report shows here once it is")
            shown = app.stored_report(session_id, me, "r") or ReportView(
                render.notice_box("This call ended without a report."), None, None, None)
            return practice.show_report(shown, session_id)
        info, session = app.resume(session_id, me)
        report = app.stored_report(session_id, me, "r") if info.ended_at else None
    except RoleplayError as err:
        return practice.show_picker(render.error_box(
            f"Could not reopen the session in the address bar: {message(err)}"))
    # With login off the page does not know the name yet: the session tells it.
    out: Updates = {name_box: info.user or ""} if not app.login and not me.name else {}
    if info.ended_at is None:
        return {**out, **practice.show_call(session, app.call_view(session))}
    if report is None:
        report = ReportView(render.notice_box("This call ended without a report."),
                            render.mood_figure(session.transcript), None, None, rescore=True)
    return {**out, **practice.show_report(report, session_id), practice.panel.state: session}


HANDLERS = 64
"""Chat events handled at once per process (each waits for a model slot, or streams)."""

TRUSTED_ROOM = ("Login is off (trusted-room mode): anyone at this computer can continue the "
                "calls started in this browser and read their reports. Use it only in a "
                "room where that is fine; your trainer can turn login on.")


def theme() -> gr.themes.Base:
    """Gradio's default look on the system's own fonts: the stock theme loads Google Fonts."""
    return gr.themes.Default(font=["system-ui", "Segoe UI", "Roboto", "sans-serif"],
                             font_mono=["ui-monospace", "Consolas", "monospace"])


def app_from_settings(settings: Settings) -> tuple[Page, Users | None]:
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
    from roleplay.store import open_store
    from roleplay.users import load_users

    users = load_users(settings.users_file) if settings.users_file else None
    rubric = load_rubric(settings.prompts_dir / "rubric.yaml")
    store = open_store(settings)
    engine = ConversationEngine.from_settings(settings, store)
    judge = Judge.from_settings(settings)
    # The judge's checks and rewrites are prepared after each reply, in the model's idle time.
    from roleplay.personas import scan_personas
    from roleplay.scoring import Scorer

    scorer = Scorer(rubric, judge, engine.appraiser, store, gate=engine.gate,
                    personas=lambda: scan_personas([settings.personas_dir])[0])
    engine.on_reply = scorer.prepare

    def evaluate_call(transcript: Transcript, persona: Persona) -> EvaluationReport:
        return evaluate(transcript, rubric, judge=judge, persona=persona)

    # With the scorer, End call shows the scores at once and streams the advice in.
    demo = build_app(engine, store, settings.personas_dir, settings, evaluate_call,
                     render_markdown, users, scorer=scorer)
    return demo, users


def launch_app(demo: Page, settings: Settings, users: Users | None = None,
               block: bool = True, port: int | None = None,
               throttle: LoginThrottle | None = None) -> Page:
    """Serve `demo` on settings.host:port with the queue limit and, if configured, login
    (failed logins slowed and locked out by `throttle`; by default LoginThrottle on the
    store's database, so every app process on it counts the same failures)."""
    if throttle is None:
        shared = SqlFailureLog.beside(demo.webapp.store)
        throttle = LoginThrottle(log=shared) if shared is not None else LoginThrottle()
    # Replies wait for a model slot in the engine (ModelSlots), where the trainee is told
    # their place in line; waiting in Gradio's queue instead would be a frozen box.
    demo.queue(default_concurrency_limit=HANDLERS)
    demo.launch(
        max_threads=HANDLERS + 40,
        server_name=settings.host, server_port=port or settings.port,
        # An async check (awaited by Gradio's /login), typed by Gradio as a plain callable.
        auth=LoginGate(users, throttle).check if users is not None else None,  # type: ignore[arg-type]
        auth_message=("Log in with the name and password your trainer gave you. After "
                      f"{throttle.user_failures} wrong passwords, logging in is locked for "
                      f"{throttle.lock / 60:.0f} minutes."),
        app_kwargs={"middleware": [Middleware(Gate, webapp=demo.webapp)]},
        share=False, prevent_thread_lock=not block, quiet=not block,
        # gr.Error messages (written for the user) always show; any other exception shows
        # only as "Error", never its text, which may name a server path or a Python error.
        show_error=False,
        theme=theme(), css=render.CSS,
        ssr_mode=False, pwa=False, mcp_server=False, footer_links=[],
    )
    return demo
