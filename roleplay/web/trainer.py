"""The Trainer tab: check a persona, try it in a sandbox call, publish it for trainees.

It also lists the files in the personas folder that do not load, so a trainer sees why a
scenario is missing from the picker. Every handler checks the trainer role on the server:
the tab is hidden from trainees, but hidden is not forbidden.
"""

from __future__ import annotations

from collections.abc import Iterator

import gradio as gr

from roleplay.errors import PersonaError, RoleplayError
from roleplay.web import render
from roleplay.web.actions import NotAllowed, WebApp, message
from roleplay.web.chat import SANDBOX_IDS, chat_panel
from roleplay.web.page import Updates, trainer_only, who


def trainer_view(app: WebApp, tab: gr.Tab) -> None:
    """Lay out the Trainer tab's content in the current context and wire its events."""
    gr.Markdown("Paste a persona or upload its file, check it, try it in a sandbox call (kept "
                "in nobody's history), then publish it for trainees.")
    files = gr.HTML(elem_id="persona-files")
    yaml_box = gr.Code(language="yaml", label="Persona YAML", lines=18, max_lines=24,
                       interactive=True, elem_id="persona-yaml")
    with gr.Row():
        upload_btn = gr.UploadButton("Upload a .yaml file", file_types=[".yaml", ".yml"],
                                     type="binary", elem_id="persona-upload")
        validate_btn = gr.Button("Validate", elem_id="persona-validate")
        sandbox_btn = gr.Button("Try in sandbox", elem_id="sandbox-start")
    validation = gr.HTML(elem_id="persona-validation")
    with gr.Row():
        replace_box = gr.Checkbox(label="Replace the existing persona with this id",
                                  elem_id="persona-replace")
        publish_btn = gr.Button("Publish", variant="primary", elem_id="persona-publish")
    publish_msg = gr.HTML(elem_id="publish-result")
    with gr.Column(visible=False, elem_id="sandbox") as sandbox_col:
        gr.Markdown("### Sandbox call (not saved to anyone's history)")
        sandbox = chat_panel(SANDBOX_IDS, "Sandbox", "Talk to your persona", height=360)
    guard = trainer_only(app)

    def persona_files(request: gr.Request) -> str:
        guard(request)
        _, problems = app.catalogue()
        return render.broken_files_html(problems) if problems else ""

    def check(text: str, request: gr.Request) -> str:
        try:
            persona = app.check_persona(text or "", who(app, request, None))
        except NotAllowed as err:
            raise gr.Error(str(err)) from err
        except PersonaError as err:
            return render.problems_html(err.problems)
        return render.notice_box(f"Valid: '{persona.id}' – {persona.title}.")

    def validate(text: str, request: gr.Request) -> Updates:
        # A new check makes the last publish message stale.
        return {validation: check(text, request), publish_msg: ""}

    def upload(data: bytes | None, request: gr.Request) -> Updates:
        guard(request)
        if data is None:
            return {}
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return {validation: render.error_box(
                "The file is not UTF-8 text; save it as UTF-8 and upload it again.")}
        return {yaml_box: text, validation: check(text, request), publish_msg: ""}

    def publish(text: str, replace: bool, request: gr.Request) -> Updates:
        try:
            done = app.publish(text or "", replace, who(app, request, None))
        except NotAllowed as err:
            raise gr.Error(str(err)) from err
        except PersonaError as err:
            return {publish_msg: render.error_box("Not published."),
                    validation: render.problems_html(err.problems)}
        return {publish_msg: render.notice_box(done + " Trainees see it on their next page "
                                               "load."), validation: ""}

    def sandbox_start(text: str, request: gr.Request) -> Iterator[Updates]:
        try:
            session = app.sandbox(text or "", who(app, request, None))
        except NotAllowed as err:
            raise gr.Error(str(err)) from err
        except PersonaError as err:
            yield {validation: render.problems_html(err.problems)}
            return
        except RoleplayError as err:
            yield {validation: render.error_box(message(err))}
            return
        yield {validation: render.notice_box(f"Sandbox call with '{session.persona.id}'."),
               publish_msg: ""}
        yield {sandbox_col: gr.Column(visible=True),
               **sandbox.show(session, app.call_view(session))}

    tab.select(persona_files, outputs=[files], concurrency_limit=None, api_name="persona_files")
    validate_btn.click(validate, inputs=[yaml_box], outputs=[validation, publish_msg],
                       concurrency_limit=None)
    upload_btn.upload(upload, inputs=[upload_btn], outputs=[yaml_box, validation, publish_msg],
                      concurrency_limit=None)
    publish_btn.click(publish, inputs=[yaml_box, replace_box], outputs=[publish_msg, validation],
                      concurrency_limit=None, api_name="publish_persona"
                      ).then(persona_files, outputs=[files], concurrency_limit=None,
                             api_visibility="private")
    sandbox_btn.click(sandbox_start, inputs=[yaml_box],
                      outputs=[sandbox_col, *sandbox.parts, validation, publish_msg],
                      concurrency_id="model", concurrency_limit="default",
                      api_name="sandbox_start", show_progress_on=[validation])
    sandbox.wire(app, guard, names=("sandbox_say", "sandbox_again", "sandbox_take_back"),
                 missing="Start a sandbox call first.")
