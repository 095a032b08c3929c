"""The web app: trainees practise calls and read their reports; trainers try and publish personas.

Modules by what a maintainer changes:

- `actions`: every page action (`WebApp`) and the views it returns; no Gradio.
- `render` (HTML, plots, report files) and `publish` (writing a trainer's persona into the
  personas directory): plain Python.
- `chat` (the chat panel of practice and sandbox calls), `practice`, `history`, `trainer`
  (one tab each) and `page` (what they share): Gradio views that lay out and wire.
- `app`: puts the tabs on one page and serves it.

Importing `actions`, `render` or `publish` does not import Gradio, so they are tested
without a server.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy, so `import roleplay.web.render` does not pay for importing Gradio.
    if name in ("build_app", "launch_app"):
        from roleplay.web import app

        return getattr(app, name)
    if name == "WebApp":
        from roleplay.web.actions import WebApp

        return WebApp
    raise AttributeError(name)
