"""The History tab: a trainee's sessions, their scores over time, and each one's report.

An unfinished call can be continued (it opens in the Practice tab) and an ended call
without a report can be scored from here.
"""

from __future__ import annotations

from collections.abc import Iterator

import gradio as gr

from roleplay.coaching.plots import principle_trend_figure
from roleplay.errors import RoleplayError
from roleplay.web import render, rewind_view
from roleplay.web.actions import ReportView, message
from roleplay.web.coached import CoachedApp
from roleplay.web.page import Updates, who
from roleplay.web.practice import Practice
from roleplay.web.rewind import Rewind


def history_view(app: CoachedApp, tab: gr.Tab, tabs: gr.Tabs, name_box: gr.Textbox,
                 practice: Practice) -> None:
    """Lay out the History tab's content in the current context and wire its events."""
    ids = gr.State([])
    selected = gr.State(None)
    note = gr.HTML()
    table = gr.Dataframe(headers=["Date", "Scenario", "Score", "Turns", "Status"],
                         datatype=["str"] * 5, interactive=False, elem_id="history-table",
                         label="Your sessions (select one to see its report)")
    score_plot = gr.Plot(label="Score across sessions", elem_id="score-plot", format="png")
    principle_plot = gr.Plot(label="Your result per principle", elem_id="principle-plot",
                             format="png")
    report = gr.HTML(elem_id="history-report")
    with gr.Row():
        continue_btn = gr.Button("Continue this call", visible=False, elem_id="history-continue")
        score_btn = gr.Button("Score this call", visible=False, elem_id="history-score")
    branches = rewind_view.history_controls()  # one call, its branches (issue 13)
    mood = gr.Plot(label="Mood over the call", elem_id="history-mood", format="png",
                   visible=False)
    with gr.Row():
        md = gr.DownloadButton("Download Markdown", visible=False, elem_id="history-download-md")
        js = gr.DownloadButton("Download JSON", visible=False, elem_id="history-download-json")
    outputs = [note, table, score_plot, principle_plot, ids, report, mood, md, js, continue_btn, score_btn,
               selected]

    def shown(view: ReportView | None, html: str = "", resume: bool = False,
              score: bool = False) -> Updates:
        return {report: view.html if view else html,
                mood: gr.Plot(value=view.plot if view else None,
                              visible=bool(view and view.plot)),
                md: gr.DownloadButton(value=view.markdown_file if view else None,
                                      visible=bool(view and view.markdown_file)),
                js: gr.DownloadButton(value=view.json_file if view else None,
                                      visible=bool(view and view.json_file)),
                continue_btn: gr.Button(visible=resume),
                score_btn: gr.Button(visible=score or bool(view and view.rescore))}

    def show_history(typed: str | None, request: gr.Request) -> Updates:
        me = who(app, request, typed)
        if not me.name:
            return {note: render.notice_box("Type your name to see your sessions."),
                    table: [], score_plot: None, principle_plot: None, ids: []}
        sessions = app.history(me)
        return {note: "" if sessions else render.notice_box("No sessions yet."),
                table: app.history_rows(sessions), score_plot: render.score_figure(sessions),
                principle_plot: principle_trend_figure(app.own_calls(me, sessions)),
                ids: [s.session_id for s in sessions], selected: None, **shown(None)}

    def open_history(session_ids: list[str], typed: str | None, evt: gr.SelectData,
                     request: gr.Request) -> Updates:
        me = who(app, request, typed)
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if not isinstance(row, int) or not 0 <= row < len(session_ids):
            return {}
        session_id = session_ids[row]
        try:
            info = app.owned_session(session_id, me)
            view = app.stored_report(session_id, me, "h")
        except RoleplayError as err:
            return shown(None, render.error_box(message(err)))
        if view is not None:
            return {**shown(view), selected: session_id}
        if info.ended_at is None:
            return {**shown(None, render.notice_box("This call is not finished yet."),
                            resume=True), selected: session_id}
        return {**shown(None, render.notice_box("This call ended without a report."),
                        score=True), selected: session_id}

    def continue_call(session_id: str | None, typed: str | None,
                      request: gr.Request) -> Updates:
        me = who(app, request, typed)
        try:
            _, session = app.resume(session_id or "", me)
        except RoleplayError as err:
            raise gr.Error(message(err)) from err
        return {**practice.show_call(session, app.call_view(session)),
                tabs: gr.Tabs(selected="practice")}

    def score_call(session_id: str | None, typed: str | None,
                   request: gr.Request) -> Iterator[Updates]:
        me = who(app, request, typed)
        yield shown(None, render.notice_box("Scoring the call…"))
        try:
            for view in app.score_stored_stream(session_id or "", me, "h"):
                yield shown(view)
        except RoleplayError as err:
            yield shown(None, render.error_box(message(err)), score=True)

    rewind_view.wire_history(app, practice.rewind or Rewind(app), branches, selected,
                             name_box, practice, tabs)
    tab.select(show_history, inputs=[name_box], outputs=outputs, concurrency_limit=None)
    table.select(open_history, inputs=[ids, name_box], outputs=outputs, concurrency_limit=None)
    continue_btn.click(continue_call, inputs=[selected, name_box],
                       outputs=[*practice.outputs, tabs], concurrency_limit=None)
    score_btn.click(score_call, inputs=[selected, name_box], outputs=outputs,
                    concurrency_id="evaluate", concurrency_limit=app.reports.concurrency)
