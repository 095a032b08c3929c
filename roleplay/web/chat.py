"""The chat with a customer, as one Gradio panel: used by a trainee's practice call and by a
trainer's sandbox call.

`chat_panel` lays out the conversation, its error line and Retry, the message box with Send,
and the mood meter beside them; `ChatPanel.wire` connects Send, Enter and Retry to
`WebApp.say` and `WebApp.retry`. The two uses differ only in their element ids, labels, the
check made before each line (a sandbox line needs a trainer) and the buttons that wait while
the customer answers (End call in practice).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from roleplay.conversation import Session
from roleplay.limits import line_problem
from roleplay.web import render
from roleplay.web.actions import CallView, Identity, NotAllowed, WebApp
from roleplay.web.page import Updates, who

Guard = Callable[[gr.Request], None]
"""Raises gr.Error when the asker may not talk in this panel."""


def anyone(request: gr.Request) -> None:
    """The guard of a trainee's call: anyone may talk (own_call then checks whose it is)."""


def own_call(app: WebApp, session: Session, request: gr.Request) -> Identity:
    """Return who is asking if `session` is theirs to talk in; gr.Error otherwise."""
    me = who(app, request, None)
    try:
        app.check_call(session, me)
    except NotAllowed as err:
        raise gr.Error(str(err)) from err
    return me


@dataclass(frozen=True)
class PanelIds:
    """The element ids of one chat panel (the e2e tests and the CSS find them by these)."""

    chat: str
    error: str
    retry: str
    take_back: str
    message: str
    send: str
    mood: str

    @classmethod
    def prefixed(cls, prefix: str) -> PanelIds:
        return cls(*(f"{prefix}-{name}" for name in
                     ("chat", "error", "retry", "take-back", "message", "send", "mood")))


PRACTICE_IDS = PanelIds(chat="chat", error="call-error", retry="retry", take_back="take-back",
                        message="message", send="send", mood="mood")
SANDBOX_IDS = PanelIds.prefixed("sandbox")


@dataclass
class ChatPanel:
    """The components of one chat panel and the session it shows."""

    chat: gr.Chatbot
    error: gr.HTML
    retry: gr.Button
    take_back: gr.Button
    box: gr.Textbox
    send: gr.Button
    mood: gr.HTML
    side: gr.Column
    """The column under the mood meter, for the caller's own buttons (End call)."""
    state: gr.State
    waits: list[gr.Button] = field(default_factory=list)
    """Buttons outside the panel that wait, like Send, while the customer answers."""

    @property
    def parts(self) -> list[Any]:
        """Every component a panel update may change."""
        return [self.chat, self.mood, self.error, self.retry, self.take_back, self.box,
                self.state, self.send, *self.waits]

    def show(self, session: Session, view: CallView) -> Updates:
        """The panel showing `session` afresh: the box holds only what the view keeps."""
        return {**self.update(session, view), self.box: view.keep_text,
                self.retry: gr.Button(visible=view.retry, interactive=True),
                self.take_back: gr.Button(visible=view.retry, interactive=True)}

    def update(self, session: Session, view: CallView) -> Updates:
        """The panel after one step of a reply."""
        note = (render.error_box(view.error) if view.error
                else render.notice_box(view.wait) if view.wait else "")
        out: Updates = {
            self.chat: view.messages, self.mood: view.mood,
            # Waiting for a model slot shows as a notice where errors show: never a frozen box.
            self.error: gr.HTML(value=note, visible=bool(note)),
            self.retry: gr.Button(visible=view.retry, interactive=not view.busy),
            self.take_back: gr.Button(visible=view.retry, interactive=not view.busy),
            self.send: gr.Button(interactive=not view.busy),
            self.state: session,
            **{button: gr.Button(interactive=not view.busy) for button in self.waits},
        }
        # The box is left alone otherwise: the trainee may be typing the next line.
        if view.keep_text:
            out[self.box] = view.keep_text
        return out

    def wire(self, app: WebApp, guard: Guard, names: tuple[str, str, str], missing: str) -> None:
        """Send (button and Enter), Retry and Take back, on the model's queue; `names` are
        the API names of the three handlers, `missing` what to say when no call is open."""

        def say(text: str, session: Session | None, request: gr.Request) -> Iterator[Updates]:
            guard(request)
            if session is None:
                raise gr.Error(missing)
            me = own_call(app, session, request)  # before the call is echoed back
            if not text.strip():
                return
            problem = line_problem(text)
            if problem is not None:
                # The box keeps the line to be shortened or fixed; nothing is echoed back.
                yield {self.error: gr.HTML(value=render.error_box(problem), visible=True)}
                return
            # The box empties at once; the line shows in the chat while the reply streams.
            yield {self.box: "", self.send: gr.Button(interactive=False),
                   **{button: gr.Button(interactive=False) for button in self.waits},
                   self.chat: render.chat_messages(session.transcript)
                   + [{"role": "user", "content": render.chat_text(text)},
                      {"role": "assistant", "content": "…"}]}
            for view in app.say(session, text, me):
                yield self.update(session, view)

        def again(session: Session | None, request: gr.Request) -> Iterator[Updates]:
            guard(request)
            if session is None:
                raise gr.Error(missing)
            for view in app.retry(session, own_call(app, session, request)):
                yield self.update(session, view)

        def take_back(session: Session | None, request: gr.Request) -> Updates:
            guard(request)
            if session is None:
                raise gr.Error(missing)
            view = app.take_back(session, own_call(app, session, request))
            return {**self.update(session, view), self.box: view.keep_text}

        # Gradio names each endpoint after its function: the API keeps its names
        # (/send, /sandbox_say, ...) with one function behind both panels.
        say.__name__, again.__name__, take_back.__name__ = names
        for trigger in (self.box.submit, self.send.click):
            # No progress overlay: the "…" bubble and the disabled buttons say it is working.
            trigger(say, inputs=[self.box, self.state], outputs=self.parts,
                    concurrency_id="model", concurrency_limit="default", show_progress="hidden")
        self.retry.click(again, inputs=[self.state], outputs=self.parts, concurrency_id="model",
                         concurrency_limit="default", show_progress="hidden")
        self.take_back.click(take_back, inputs=[self.state], outputs=self.parts,
                             concurrency_limit=None, show_progress="hidden")


def chat_panel(ids: PanelIds, label: str, placeholder: str, height: int,
               send_variant: str = "secondary") -> ChatPanel:
    """Lay out a chat panel in the current Blocks context and return its components."""
    with gr.Row():
        with gr.Column(scale=3):
            chat = gr.Chatbot(
                label=label, elem_id=ids.chat, height=height,
                # Text only: messages are escaped in render.chat_text and shown as-is; no
                # Markdown, LaTeX or custom tags.
                render_markdown=False, sanitize_html=True, allow_tags=False,
                latex_delimiters=[], buttons=[], feedback_options=None,
                group_consecutive_messages=False, layout="bubble")
            error = gr.HTML(visible=False, elem_id=ids.error)
            with gr.Row():
                retry = gr.Button("Retry", visible=False, elem_id=ids.retry)
                # When Retry keeps failing: the line goes back into the box to be changed.
                take_back = gr.Button("Take back my line", visible=False,
                                      elem_id=ids.take_back)
            with gr.Row():
                box = gr.Textbox(show_label=False, scale=5, elem_id=ids.message, max_lines=6,
                                 placeholder=placeholder)
                send = gr.Button("Send", variant=send_variant,  # type: ignore[arg-type]
                                 scale=1, elem_id=ids.send)
        with gr.Column(scale=2) as side:
            mood = gr.HTML(elem_id=ids.mood)
    return ChatPanel(chat=chat, error=error, retry=retry, take_back=take_back, box=box, send=send, mood=mood,
                     side=side, state=gr.State(None))
