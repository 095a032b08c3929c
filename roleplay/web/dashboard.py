"""The Team tab (trainers): the dashboard, a call's review, assignments and the exports.

The dashboard's tables say everything in text (the heatmap cells read `40% (2/5)`), the
plots beside them draw the same; selecting a heatmap cell lists the calls behind it, and
selecting one of those opens it for review. Every handler checks the trainer role on the
server: the tab is hidden from trainees, but hidden is not forbidden.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import gradio as gr

from roleplay.coaching.dashboard import Filters, dashboard_csv
from roleplay.coaching.plots import heatmap_figure, scenario_figure
from roleplay.coaching.service import COACH_STATUSES
from roleplay.coaching.xapi import results_csv, statements
from roleplay.errors import RoleplayError
from roleplay.web import coach_render, render
from roleplay.web.actions import NotAllowed, message
from roleplay.web.coached import CoachedApp
from roleplay.web.page import Updates, trainer_only, who


def _date(text: str, what: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        raise gr.Error(f"{what} {text!r}: write the date as YYYY-MM-DD") from None


def _row(evt: gr.SelectData) -> tuple[int, int]:
    index = evt.index if isinstance(evt.index, list | tuple) else [evt.index, 0]
    return int(index[0]), int(index[1])


def dashboard_view(app: CoachedApp, tab: gr.Tab) -> None:
    """Lay out the Team tab in the current context and wire its events."""
    board_state = gr.State({})
    cell_ids = gr.State([])
    current = gr.State(None)
    with gr.Row():
        since = gr.Textbox(label="From (YYYY-MM-DD)", elem_id="dash-since", max_lines=1)
        until = gr.Textbox(label="To (YYYY-MM-DD)", elem_id="dash-until", max_lines=1)
        scenario = gr.Dropdown(label="Scenario", choices=[""], value="", elem_id="dash-scenario")
        language = gr.Dropdown(label="Language", choices=[""], value="", elem_id="dash-language")
        refresh = gr.Button("Show", variant="primary", elem_id="dash-refresh")
    note = gr.HTML(elem_id="dash-note")
    trainees = gr.Dataframe(headers=["Trainee", "Calls", "Average", "Trend"],
                            interactive=False, elem_id="dash-trainees", label="Trainees")
    heat = gr.Dataframe(headers=["Trainee"], interactive=False, elem_id="dash-heatmap",
                        label="Violated or partly met, per principle (select a cell for its calls)")
    heat_plot = gr.Plot(label="Team heatmap", elem_id="dash-heat-plot", format="png")
    cell_calls = gr.Dataframe(headers=["Date", "Trainee", "Scenario", "Score", "Status"],
                              interactive=False, elem_id="dash-cell-calls",
                              label="The calls behind the cell (select one to review it)")
    scenarios = gr.Dataframe(headers=["Scenario", "Calls", "Average", "Ended angrier"],
                             interactive=False, elem_id="dash-scenarios", label="Per scenario")
    scenario_plot = gr.Plot(label="Per scenario", elem_id="dash-scenario-plot", format="png")
    assignments = gr.Dataframe(
        headers=["#", "Trainee", "Scenario", "Due", "Kind", "State", "Score", "Result"],
        interactive=False, elem_id="dash-assignments", label="Assignments")
    with gr.Row():
        csv_btn = gr.DownloadButton("Dashboard CSV", visible=False, elem_id="dash-csv")
        results_btn = gr.DownloadButton("Assessment results CSV", visible=False,
                                        elem_id="results-csv")
        xapi_btn = gr.DownloadButton("xAPI statements (JSON)", visible=False,
                                     elem_id="results-xapi")

    with gr.Column(visible=False, elem_id="review") as review_col:
        gr.Markdown("### Review the call")
        review_msg = gr.HTML(elem_id="review-msg")
        review_html = gr.HTML(elem_id="review-report")
        review_mood = gr.Plot(label="Mood over the call", elem_id="review-mood", format="png")
        with gr.Row():
            principle = gr.Dropdown(label="Principle", choices=[], elem_id="review-principle")
            status = gr.Dropdown(label="Your status", choices=list(COACH_STATUSES),
                                 elem_id="review-status")
        comment = gr.Textbox(label="Why (required)", elem_id="review-comment", lines=2)
        save = gr.Button("Set the status", elem_id="review-save")
        with gr.Row():
            turn = gr.Number(label="Turn", precision=0, minimum=1, elem_id="review-turn")
            turn_text = gr.Textbox(label="Comment on that turn", elem_id="review-turn-text")
        add = gr.Button("Add the comment", elem_id="review-comment-add")
        release_btn = gr.Button("Release the result to the trainee", elem_id="review-release")
        history = gr.Dataframe(headers=["When", "Who", "What", "From", "To", "Why"],
                               interactive=False, elem_id="review-history",
                               label="Every change")
    api_session = gr.Textbox(visible=False)

    with gr.Accordion("Assign scenarios", open=False, elem_id="assign"):
        assign_scenarios = gr.Dropdown(label="Scenarios", multiselect=True, choices=[],
                                       elem_id="assign-scenarios")
        assign_trainees = gr.Dropdown(label="Trainees (none: everyone)", multiselect=True,
                                      choices=[], elem_id="assign-trainees")
        with gr.Row():
            due = gr.Textbox(label="Due (YYYY-MM-DD, optional)", elem_id="assign-due")
            mark = gr.Textbox(label="Pass mark (0-100, optional)", elem_id="assign-mark")
        with gr.Row():
            assessment = gr.Checkbox(label="Assessment (no mood reasons, no take-back, pass/fail)",
                                     elem_id="assign-assessment")
            at_once = gr.Checkbox(label="Show the report at once (else when I release it)",
                                  elem_id="assign-at-once")
        assign_btn = gr.Button("Assign", elem_id="assign-save")
        assign_msg = gr.HTML(elem_id="assign-msg")

    guard = trainer_only(app)
    board_outputs = [note, trainees, heat, heat_plot, scenarios, scenario_plot, assignments,
                     csv_btn, results_btn, xapi_btn, board_state, scenario, language,
                     assign_scenarios, assign_trainees, cell_calls, cell_ids]

    def show(since_text: str, until_text: str, scenario_id: str, lang: str,
             request: gr.Request) -> Updates:
        me = who(app, request, None)
        filters = Filters(since=_date(since_text, "From"), until=_date(until_text, "To"),
                          scenario=scenario_id or None, language=lang or None)
        try:
            board = app.dashboard(filters, me)
            rows = app.results(me)
        except RoleplayError as err:
            raise gr.Error(message(err)) from err
        calls = board.calls
        all_scenarios = sorted(app.personas())
        headers = ["Trainee", *[board.titles.get(p, p) for p in board.principles]]
        home = str(request.headers.get("origin") or f"http://{app.settings.host}")
        out: Updates = {
            note: "" if calls else render.notice_box("No scored calls in this period."),
            trainees: coach_render.trainee_rows(board),
            heat: gr.Dataframe(value=coach_render.heatmap_rows(board) or None, headers=headers),
            heat_plot: heatmap_figure(board), scenarios: coach_render.scenario_rows(board),
            scenario_plot: scenario_figure(board),
            assignments: coach_render.assignment_rows(board),
            csv_btn: gr.DownloadButton(value=app.export_file("dashboard.csv",
                                                             dashboard_csv(board)), visible=True),
            results_btn: gr.DownloadButton(value=app.export_file(
                "assessment-results.csv", results_csv(rows)), visible=bool(rows)),
            xapi_btn: gr.DownloadButton(value=app.export_file(
                "xapi-statements.json", json.dumps(statements(rows, home), indent=2)),
                visible=bool(rows)),
            board_state: {"trainees": [t.name for t in board.trainees],
                          "principles": board.principles,
                          "weak": {t: {p: c.weak for p, c in cells.items()}
                                   for t, cells in board.heatmap.items()},
                          "calls": {c.session_id: [f"{c.started_at:%Y-%m-%d %H:%M}", c.user,
                                                   c.scenario, "–" if c.score is None
                                                   else f"{c.score:.0f}"] for c in calls},
                          "statuses": {c.session_id: c.statuses for c in calls}},
            scenario: gr.Dropdown(choices=["", *all_scenarios], value=scenario_id or ""),
            language: gr.Dropdown(choices=["", *board.languages], value=lang or ""),
            assign_scenarios: gr.Dropdown(choices=all_scenarios),
            assign_trainees: gr.Dropdown(choices=app.trainees()),
            cell_calls: [], cell_ids: [],
        }
        return out

    def open_cell(state: dict[str, Any], evt: gr.SelectData, request: gr.Request) -> Updates:
        guard(request)
        row, col = _row(evt)
        names, principles = state.get("trainees", []), state.get("principles", [])
        if not (0 <= row < len(names) and 1 <= col <= len(principles)):
            return {}
        pid = principles[col - 1]
        ids = state["weak"][names[row]][pid]
        return {cell_calls: [[*state["calls"][sid], state["statuses"][sid].get(pid, "")]
                             for sid in ids] or None,
                cell_ids: ids}

    def open_review(session_id: str | None, request: gr.Request) -> Updates:
        me = who(app, request, None)
        try:
            view = app.review_call(session_id or "", me)
        except (NotAllowed, RoleplayError) as err:
            raise gr.Error(message(err)) from err
        attempt = app.attempt(session_id or "")
        return {review_col: gr.Column(visible=True), review_html: view.html, review_msg: "",
                review_mood: view.mood,
                principle: gr.Dropdown(choices=view.principles,
                                       value=view.principles[0] if view.principles else None),
                history: view.changes or None, current: session_id,
                release_btn: gr.Button(visible=attempt is not None and not attempt.released)}

    review_outputs = [review_col, review_html, review_mood, review_msg, principle, history,
                      current, release_btn]

    def pick_call(ids: list[str], evt: gr.SelectData, request: gr.Request) -> Updates:
        row, _ = _row(evt)
        return open_review(ids[row], request) if 0 <= row < len(ids) else {}

    def after(session_id: str | None, request: gr.Request, done: str) -> Updates:
        return {**open_review(session_id, request), review_msg: render.notice_box(done)}

    def set_status(session_id: str | None, pid: str | None, new: str | None, why: str,
                   request: gr.Request) -> Updates:
        guard(request)
        try:
            change = app.override(session_id or "", pid or "", new or "", why or "",
                                  who(app, request, None))
        except RoleplayError as err:
            return {review_msg: render.error_box(message(err))}
        return {**after(session_id, request, f"{change.principle}: {change.from_status} → "
                        f"{change.to_status}, saved."), comment: ""}

    def add_comment(session_id: str | None, number: float | None, text: str,
                    request: gr.Request) -> Updates:
        guard(request)
        try:
            app.comment(session_id or "", int(number or 0) - 1, text or "",
                        who(app, request, None))
        except RoleplayError as err:
            return {review_msg: render.error_box(message(err))}
        return {**after(session_id, request, "Comment saved."), turn_text: ""}

    def release(session_id: str | None, request: gr.Request) -> Updates:
        guard(request)
        try:
            app.release(session_id or "", who(app, request, None))
        except RoleplayError as err:
            return {review_msg: render.error_box(message(err))}
        return after(session_id, request, "Released: the trainee sees the report now.")

    def assign(picked: list[str] | None, names: list[str] | None, due_text: str,
               mark_text: str, is_assessment: bool, release_now: bool,
               request: gr.Request) -> str:
        guard(request)
        try:
            a = app.assign(list(picked or []), list(names or []), due_text or "",
                           mark_text or "", is_assessment, release_now, who(app, request, None))
        except RoleplayError as err:
            return render.error_box(message(err))
        to = ", ".join(a.trainees) or "everyone"
        return render.notice_box(f"Assignment {a.id}: {', '.join(a.scenarios)} to {to}.")

    filters = [since, until, scenario, language]
    tab.select(show, inputs=filters, outputs=board_outputs, concurrency_limit=None)
    refresh.click(show, inputs=filters, outputs=board_outputs, concurrency_limit=None,
                  api_name="dashboard")
    heat.select(open_cell, inputs=[board_state], outputs=[cell_calls, cell_ids],
                concurrency_limit=None)
    cell_calls.select(pick_call, inputs=[cell_ids], outputs=review_outputs,
                      concurrency_limit=None)
    api_session.submit(open_review, inputs=[api_session], outputs=review_outputs,
                       concurrency_limit=None, api_name="review_call")
    save.click(set_status, inputs=[current, principle, status, comment],
               outputs=[*review_outputs, comment], concurrency_limit=None,
               api_name="override_principle")
    add.click(add_comment, inputs=[current, turn, turn_text],
              outputs=[*review_outputs, turn_text], concurrency_limit=None,
              api_name="comment_turn")
    release_btn.click(release, inputs=[current], outputs=review_outputs,
                      concurrency_limit=None, api_name="release_result")
    assign_btn.click(assign, inputs=[assign_scenarios, assign_trainees, due, mark, assessment,
                                     at_once], outputs=[assign_msg], concurrency_limit=None,
                     api_name="assign").then(show, inputs=filters, outputs=board_outputs,
                                              concurrency_limit=None, api_visibility="private")
