"""The web app: trainees practise calls and read their reports; trainers try and publish personas.

Only `roleplay.web.app` imports Gradio. `render` (HTML, plots, report files) and `publish`
(writing a trainer's persona into the personas directory) are plain Python, so they are
tested without a server and importing them does not start the web framework.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy, so `import roleplay.web.render` does not pay for importing Gradio.
    if name in ("build_app", "launch_app", "WebApp"):
        from roleplay.web import app

        return getattr(app, name)
    raise AttributeError(name)
