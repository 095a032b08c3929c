"""The page's rewind, hints and Try it controls (issue 13); the actions are roleplay.web.rewind.

In the call: click one of your own lines, then "Take this line again" (a new branch from
there, the old line back in the box); Hints on/off and "Suggest a reply". In the report:
pick a "do this instead" item and Try it (both mood paths and the customer's replies), then
continue the call from the rewrite. In the History tab: the call's branches, and Continue or
Score any of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from roleplay.conversation import Session
from roleplay.errors import RoleplayError
from roleplay.web import render
from roleplay.web.actions import WebApp, message
from roleplay.web.chat import ChatPanel, own_call
from roleplay.web.page import Updates, who
from roleplay.web.rewind import Rewind, replay_html, set_hints

if TYPE_CHECKING:
    # Only annotations of the layout functions; Gradio reads the handlers' hints, whose
    # names (Session, gr.Request) are imported above.
    from roleplay.web.practice import Practice


@dataclass
class CallControls:
    rewind: gr.Button
    at: gr.State
    hints: gr.Checkbox
    suggest: gr.Button


@dataclass
class TryControls:
    pick: gr.Dropdown
    run: gr.Button
    result: gr.HTML
    go_on: gr.Button
    branch: gr.State


def call_controls() -> CallControls:
    """Lay out the call's controls (in the mood column)."""
    return CallControls(
        rewind=gr.Button("Take this line again", visible=False, elem_id="rewind"),
        at=gr.State(None),
        hints=gr.Checkbox(value=True, label="Hints", elem_id="hints-toggle"),
        suggest=gr.Button("Suggest a reply", size="sm", elem_id="suggest"))


def try_controls() -> TryControls:
    """Lay out Try it (under the report)."""
    with gr.Row():
        pick = gr.Dropdown(label="Try it: play a \"do this instead\" against the customer",
                           choices=[], visible=False, elem_id="try-pick", scale=4)
        run = gr.Button("Try it", visible=False, elem_id="try-it", scale=1)
    result = gr.HTML(elem_id="try-result")
    go_on = gr.Button("Continue the call from the rewrite", visible=False,
                      elem_id="try-continue")
    return TryControls(pick, run, result, go_on, gr.State(None))


def wire_practice(app: WebApp, view: Practice, call: CallControls, tried: TryControls,
                  rewinder: Rewind) -> None:
    """Connect the call's and the report's controls."""
    panel: ChatPanel = view.panel

    def pick_line(session: Session | None, evt: gr.SelectData) -> Updates:
        index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        turns = session.transcript.turns if session is not None else []
        if (session is None or not isinstance(index, int) or not 0 <= index < len(turns)
                or turns[index].role != "trainee" or rewinder.assessment(session.session_id)):
            return {call.rewind: gr.Button(visible=False), call.at: None}
        return {call.rewind: gr.Button(visible=True), call.at: index}

    def rewind(session: Session | None, at: int | None, request: gr.Request) -> Updates:
        if session is None or at is None:
            raise gr.Error("Click one of your own lines first.")
        me = own_call(app, session, request)
        try:
            shown = rewinder.rewind(session, at, me)
        except RoleplayError as err:
            raise gr.Error(message(err)) from err
        return {**panel.show(session, shown), call.rewind: gr.Button(visible=False),
                call.at: None}

    def toggle(on: bool, session: Session | None, request: gr.Request) -> Updates:
        me = who(app, request, None)
        set_hints(app, me.name or (session.user if session else "") or "", on)
        return {panel.mood: app.call_view(session).mood} if session is not None else {}

    def suggest(session: Session | None) -> Updates:
        text = rewinder.suggestion(session) if session is not None else ""
        if not text:
            return {panel.error: gr.HTML(value=render.notice_box(
                "No suggestion now: answer the customer's last line first."), visible=True)}
        return {panel.box: text}

    panel.chat.select(pick_line, inputs=[panel.state], outputs=[call.rewind, call.at],
                      concurrency_limit=None)
    call.rewind.click(rewind, inputs=[panel.state, call.at],
                      outputs=[*panel.parts, call.rewind, call.at], concurrency_limit=None)
    call.hints.change(toggle, inputs=[call.hints, panel.state], outputs=[panel.mood],
                      concurrency_limit=None)
    call.suggest.click(suggest, inputs=[panel.state], outputs=[panel.box, panel.error],
                       concurrency_limit=None)

    def offer(session_id: str, request: gr.Request) -> Updates:
        # After each report update: the advice items that can be tried.
        try:
            report = app.store.load_report(session_id) if session_id else None
        except RoleplayError:
            report = None
        items = report.advice if report is not None else []
        choices: list[Any] = [(f"{i}. {a.principle}: “{a.rewrite[:60]}”", i)
                              for i, a in enumerate(items, start=1)]
        return {tried.pick: gr.Dropdown(choices=choices, value=choices[0][1] if choices else None,
                                        visible=bool(choices)),
                tried.run: gr.Button(visible=bool(choices))}

    def try_it(session_id: str, number: int | None, request: gr.Request) -> Iterator[Updates]:
        me = who(app, request, None)
        yield {tried.result: render.notice_box("Playing the rewrite against the customer…"),
               tried.go_on: gr.Button(visible=False)}
        try:
            replay = rewinder.try_it(session_id, int(number or 1), me)
        except RoleplayError as err:
            yield {tried.result: render.error_box(message(err))}
            return
        yield {tried.result: replay_html(replay), tried.branch: replay.branch,
               tried.go_on: gr.Button(visible=True)}

    def go_on(session_id: str, branch: int | None, request: gr.Request) -> Updates:
        me = who(app, request, None)
        try:
            session = rewinder.continue_branch(session_id, int(branch or 0), me)
        except RoleplayError as err:
            raise gr.Error(message(err)) from err
        return {**view.show_call(session, app.call_view(session)),
                tried.result: "", tried.go_on: gr.Button(visible=False)}

    view.report_html.change(offer, inputs=[view.sid_box], outputs=[tried.pick, tried.run],
                            concurrency_limit=None)
    tried.run.click(try_it, inputs=[view.sid_box, tried.pick],
                    outputs=[tried.result, tried.branch, tried.go_on], concurrency_id="model",
                    concurrency_limit="default")
    tried.go_on.click(go_on, inputs=[view.sid_box, tried.branch],
                      outputs=[*view.outputs, tried.result, tried.go_on],
                      concurrency_limit=None)


@dataclass
class HistoryControls:
    listing: gr.HTML
    pick: gr.Dropdown
    go_on: gr.Button
    score: gr.Button
    report: gr.HTML


def history_controls() -> HistoryControls:
    """Lay out the History tab's branch listing and its buttons."""
    listing = gr.HTML(elem_id="history-branches")
    with gr.Row():
        pick = gr.Dropdown(label="Branch", choices=[], visible=False, elem_id="history-branch",
                           scale=3)
        go_on = gr.Button("Continue this branch", visible=False,
                          elem_id="history-continue-branch", scale=1)
        score = gr.Button("Score this branch", visible=False, elem_id="history-score-branch",
                          scale=1)
    return HistoryControls(listing, pick, go_on, score, gr.HTML(elem_id="history-branch-report"))


def wire_history(app: WebApp, rewinder: Rewind, controls: HistoryControls, selected: gr.State,
                 name_box: gr.Textbox, practice: Practice, tabs: gr.Tabs) -> None:
    """Show the selected call's branches; continue or score any of them."""
    c = controls

    def listed(session_id: str | None, typed: str | None, request: gr.Request) -> Updates:
        hidden = {c.listing: "", c.pick: gr.Dropdown(visible=False), c.report: "",
                  c.go_on: gr.Button(visible=False), c.score: gr.Button(visible=False)}
        if not session_id:
            return hidden
        me = who(app, request, typed)
        try:
            html, choices = rewinder.branches(session_id, me), rewinder.choices(session_id, me)
        except RoleplayError as err:
            return {**hidden, c.listing: render.error_box(message(err))}
        several = len(choices) > 1
        return {c.listing: html, c.report: "",
                c.pick: gr.Dropdown(choices=choices, value=choices[-1][1], visible=several),
                c.go_on: gr.Button(visible=several), c.score: gr.Button(visible=several)}

    def go_on(session_id: str | None, branch: int | None, typed: str | None,
              request: gr.Request) -> Updates:
        me = who(app, request, typed)
        try:
            session = rewinder.continue_branch(session_id or "", int(branch or 0), me)
        except RoleplayError as err:
            raise gr.Error(message(err)) from err
        return {**practice.show_call(session, app.call_view(session)),
                tabs: gr.Tabs(selected="practice")}

    def score(session_id: str | None, branch: int | None, typed: str | None,
              request: gr.Request) -> Iterator[Updates]:
        me = who(app, request, typed)
        yield {c.report: render.notice_box("Scoring the branch…")}
        try:
            for shown in rewinder.score_branch(session_id or "", int(branch or 0), me):
                yield {c.report: shown.html}
            yield {c.listing: rewinder.branches(session_id or "", me)}
        except RoleplayError as err:
            yield {c.report: render.error_box(message(err))}

    selected.change(listed, inputs=[selected, name_box],
                    outputs=[c.listing, c.pick, c.go_on, c.score, c.report],
                    concurrency_limit=None)
    c.go_on.click(go_on, inputs=[selected, c.pick, name_box], outputs=[*practice.outputs, tabs],
                  concurrency_limit=None)
    c.score.click(score, inputs=[selected, c.pick, name_box], outputs=[c.report, c.listing],
                  concurrency_id="evaluate", concurrency_limit=app.reports.concurrency)
