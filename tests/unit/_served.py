"""The web app served on 127.0.0.1 with the fake engine, for the tests that reach it over HTTP,
the Gradio API or a real browser.

One way to start it, so each test file says only what differs (its scenarios, users, scorer,
settings) and a change to how the app is built or launched is made in one place:

    with serve_fake(tmp, users=users) as app:
        httpx.get(app.url + "config")
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from fake_engine import FakeEngine, fake_evaluate

from roleplay.config import Settings
from roleplay.report import render_markdown
from roleplay.store import SqliteStore
from roleplay.users import Users
from roleplay.web.app import Page, build_app, launch_app
from roleplay.web.gate import LoginThrottle
from roleplay.web.reports import Scorer

MINIMAL = (Path(__file__).parent / "data" / "personas" / "valid" / "minimal.yaml").read_text(
    encoding="utf-8")


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scenario(persona_id: str, text: str = MINIMAL) -> str:
    """The minimal persona under another id."""
    return text.replace("id: late-parcel", f"id: {persona_id}")


@dataclass
class Served:
    """A running app; close() (or leaving the `with` block) stops it."""

    url: str
    store: SqliteStore
    engine: FakeEngine
    demo: Page
    personas: Path
    settings: Settings
    scorer: Scorer | None = None

    def close(self) -> None:
        self.demo.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def serve_fake(tmp: Path, scenarios: Mapping[str, str | bytes] | None = None, *,
               users: Users | None = None,
               scorer: Callable[[SqliteStore], Scorer] | None = None,
               engine: Callable[[SqliteStore], FakeEngine] = FakeEngine,
               throttle: LoginThrottle | None = None, **settings: Any) -> Served:
    """Serve the app on a free port with `scenarios` (file stem -> YAML text or bytes; the
    minimal persona by default) in tmp/personas and a SQLite store in `tmp`."""
    personas = tmp / "personas"
    personas.mkdir(exist_ok=True)
    for stem, text in (scenarios or {"late-parcel": MINIMAL}).items():
        path = personas / f"{stem}.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    store = SqliteStore(tmp / "db.sqlite3")
    fake = engine(store)
    worker = scorer(store) if scorer else None
    config = Settings(personas_dir=personas, port=free_port(), host="127.0.0.1", **settings)
    demo = build_app(fake, store, personas, config, fake_evaluate, render_markdown, users,
                     files_dir=tmp / "files", scorer=worker)
    # No waits between failed logins unless a test brings its own throttle: the waits are
    # tested on the throttle's own clock.
    launch_app(demo, config, users, block=False, throttle=throttle or LoginThrottle(delay=0))
    return Served(f"http://127.0.0.1:{config.port}/", store, fake, demo, personas, config,
                  worker)
