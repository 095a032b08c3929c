"""The Practice tab: the scenario picker, the call, and the report at the end of it.

Three panels, one visible at a time: the picker (rebuilt on each page load, so published
personas show up and broken files are listed), the call (the shared chat panel and End
call), and the report (score, principles, downloads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from roleplay.conversation import Session
from roleplay.errors import RoleplayError
from roleplay.web import render, rewind_view
from roleplay.web.actions import CallView, NotAllowed, ReportView, message
from roleplay.web.chat import PRACTICE_IDS, ChatPanel, anyone, chat_panel, own_call
from roleplay.web.coached import CoachedApp
from roleplay.web.page import Updates, who
from roleplay.web.rewind import Rewind


@dataclass
class Practice:
    """The components of the Practice tab, and the updates that switch between its panels."""

    picker: gr.Column
    call: gr.Column
    report: gr.Column
    picker_msg: gr.HTML
    title: gr.HTML
    panel: ChatPanel
    sid_box: gr.Textbox
    report_html: gr.HTML
    rescore: gr.Button
    mood_plot: gr.Plot
    download_md: gr.DownloadButton
    download_json: gr.DownloadButton
    rewind: Rewind | None = None
    """The branch actions (rewind, Try it), shared with the History tab."""

    @property
    def outputs(self) -> list[Any]:
        """Every component the three panels change."""
        return [self.picker, self.call, self.report, self.picker_msg, self.title,
                *self.panel.parts, self.sid_box, self.report_html, self.rescore,
                self.mood_plot, self.download_md, self.download_json]

    def show_call(self, session: Session, view: CallView) -> Updates:
        """The call panel showing `session`."""
        return {self.picker: gr.Column(visible=False), self.call: gr.Column(visible=True),
                self.report: gr.Column(visible=False), self.picker_msg: "",
                self.title: render.call_header(session.persona),
                self.sid_box: session.session_id, **self.panel.show(session, view)}

    def show_report(self, view: ReportView, session_id: str) -> Updates:
        """The report panel showing `view`."""
        return {
            self.picker: gr.Column(visible=False), self.call: gr.Column(visible=False),
            self.report: gr.Column(visible=True), self.report_html: view.html,
            self.rescore: gr.Button(visible=view.rescore), self.mood_plot: view.plot,
            self.download_md: gr.DownloadButton(value=view.markdown_file,
                                                visible=view.markdown_file is not None),
            self.download_json: gr.DownloadButton(value=view.json_file,
                                                  visible=view.json_file is not None),
            self.sid_box: session_id,
        }

    def show_picker(self, note: str = "") -> Updates:
        """The scenario picker, with `note` (HTML) above the cards."""
        return {self.picker: gr.Column(visible=True), self.call: gr.Column(visible=False),
                self.report: gr.Column(visible=False), self.picker_msg: note,
                self.panel.state: None, self.sid_box: "", self.panel.chat: [],
                self.panel.box: ""}


def practice_view(app: CoachedApp, demo: gr.Blocks, name_box: gr.Textbox,
                  sid_box: gr.Textbox) -> Practice:
    """Lay out the Practice tab's content in the current context and wire its events."""
    with gr.Column(visible=True, elem_id="picker") as picker_col:
        gr.Markdown("## Pick a scenario")
        picker_msg = gr.HTML(elem_id="picker-message")
        cards_slot = gr.Column()
    with gr.Column(visible=False, elem_id="call") as call_col:
        title = gr.HTML(elem_id="call-title")
        panel = chat_panel(PRACTICE_IDS, "Call", "What do you say to the customer? (Enter sends)",
                           height=440, send_variant="primary")
        with panel.side:
            end_btn = gr.Button("End call", variant="stop", elem_id="end-call")
            controls = rewind_view.call_controls()  # take a line again, hints (issue 13)
        panel.waits.append(end_btn)
    with gr.Column(visible=False, elem_id="report-panel") as report_col:
        report_html = gr.HTML(elem_id="report")
        tried = rewind_view.try_controls()  # Try it on the advice (issue 13)
        rescore_btn = gr.Button("Score the call again", visible=False, elem_id="rescore")
        mood_plot = gr.Plot(label="Mood over the call", elem_id="mood-plot", format="png")
        with gr.Row():
            dl_md = gr.DownloadButton("Download Markdown", elem_id="download-md", visible=False)
            dl_json = gr.DownloadButton("Download JSON", elem_id="download-json", visible=False)
        new_btn = gr.Button("Back to the scenarios", elem_id="new-call")
    view = Practice(picker_col, call_col, report_col, picker_msg, title, panel, sid_box,
                    report_html, rescore_btn, mood_plot, dl_md, dl_json)
    view.rewind = Rewind(app, lambda sid: app.attempt(sid) is not None)
    rewind_view.wire_practice(app, view, controls, tried, view.rewind)

    def start_call(persona_id: str, typed: str | None,
                   request: gr.Request) -> Iterator[Updates]:
        try:
            me = who(app, request, typed)
            app.require_name(me)
        except NotAllowed as err:
            yield {picker_msg: render.error_box(str(err))}
            return
        yield {picker_msg: render.notice_box(
            "Connecting the call… (the first call can take a few seconds)")}
        try:
            session = app.start(persona_id, me)
        except RoleplayError as err:
            yield {picker_msg: render.error_box(message(err))}
            return
        yield view.show_call(session, app.call_view(session))

    with cards_slot:
        @gr.render(triggers=[demo.load])
        def cards(request: gr.Request) -> None:
            personas, problems = app.catalogue()
            # The trainee's open assignments first, listed above the cards (issue 12).
            personas, assigned = app.picker(personas, who(app, request, None))
            if assigned:
                gr.HTML(assigned, elem_id="picker-assignments")
            if problems:
                # Named, so the trainer can fix them; every other scenario stays playable.
                gr.HTML(render.broken_files_html(problems), elem_id="picker-problems")
            if not personas:
                gr.Markdown(f"No scenarios found in `{app.personas_dir.name}`.")
            with gr.Row(elem_classes=["rp-cards-row"]):
                for persona in personas.values():
                    with gr.Column(min_width=260, elem_classes=["rp-card"]):
                        gr.HTML(render.scenario_card(persona))
                        button = gr.Button("Start call", elem_id=f"start-{persona.id}",
                                           size="sm")
                        button.click(_bind(start_call, persona.id), inputs=[name_box],
                                     outputs=view.outputs, concurrency_id="model",
                                     concurrency_limit="default",
                                     show_progress_on=[picker_msg])

    # The cards' action under one API name, for API clients and the security probe (the
    # cards' own buttons are made per page load and have no stable name).
    api_persona = gr.Textbox(visible=False)
    api_persona.submit(start_call, inputs=[api_persona, name_box], outputs=view.outputs,
                       concurrency_id="model", concurrency_limit="default",
                       api_name="start_call")
    panel.wire(app, anyone, names=("send", "retry", "take_back"),
               missing="Pick a scenario first.")

    def end_call(session: Session | None, request: gr.Request) -> Iterator[Updates]:
        if session is None:
            raise gr.Error("There is no call to end.")
        me = own_call(app, session, request)
        yield {picker_col: gr.Column(visible=False), call_col: gr.Column(visible=False),
               report_col: gr.Column(visible=True), rescore_btn: gr.Button(visible=False),
               report_html: render.notice_box(
                   "Call ended. Scoring it against the principles…"
                   + ("" if app.reports.scorer else " this can take a minute.")),
               mood_plot: render.mood_figure(session.transcript),
               dl_md: gr.DownloadButton(visible=False), dl_json: gr.DownloadButton(visible=False)}
        try:
            # With a scorer the scores come at once, then the report again per rewrite.
            for report in app.end_stream(session, me):
                yield view.show_report(report, session.session_id)
        except RoleplayError as err:
            yield {report_html: render.error_box(f"The call was saved but could not be "
                                                 f"scored: {message(err)}"),
                   rescore_btn: gr.Button(visible=True)}

    def rescore(session: Session | None, request: gr.Request) -> Iterator[Updates]:
        yield from end_call(session, request)

    # Scoring takes minutes on a small model; its own queue keeps live calls answering.
    for button, handler in ((end_btn, end_call), (rescore_btn, rescore)):
        button.click(handler, inputs=[panel.state], outputs=view.outputs,
                     concurrency_id="evaluate", concurrency_limit=app.reports.concurrency,
                     show_progress_on=[report_html])
    new_btn.click(lambda: view.show_picker(), outputs=view.outputs, concurrency_limit=None)
    return view


def _bind(fn: Callable[..., Iterator[Updates]], persona_id: str
          ) -> Callable[..., Iterator[Updates]]:
    """Return `fn` with the persona id fixed, keeping the signature Gradio inspects."""
    def bound(typed: str | None, request: gr.Request) -> Iterator[Updates]:
        yield from fn(persona_id, typed, request)
    return bound
