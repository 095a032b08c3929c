"""What every Gradio view of the page shares: who is asking, and the update type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from roleplay.web.actions import Identity, NotAllowed, WebApp
from roleplay.web.cookies import BROWSER_COOKIE

Updates = dict[Any, Any]
"""What a Gradio event handler returns: new values or component updates by component."""

# After a call starts or ends, the page URL says which session it shows, so a reload finds it.
URL_JS = """(sid) => {
  const url = new URL(window.location.href);
  if (sid) { url.searchParams.set('session', sid); } else { url.searchParams.delete('session'); }
  window.history.replaceState(null, '', url);
}"""


def username(request: gr.Request | None) -> str | None:
    """The logged-in user of `request` (None with login off)."""
    return getattr(request, "username", None) if request is not None else None


def browser(app: WebApp, request: gr.Request | None) -> str | None:
    """The verified browser id of `request`'s cookie (login off), or None."""
    cookies = getattr(request, "cookies", None) if request is not None else None
    return app.cookies.browser(cookies.get(BROWSER_COOKIE) if cookies else None)


def identity(app: WebApp, request: gr.Request | None, typed: str | None) -> Identity:
    """Return who is asking (NotAllowed for a user no longer in the users file)."""
    return app.identity(username(request), typed, browser(app, request))


def who(app: WebApp, request: gr.Request | None, typed: str | None) -> Identity:
    """Return who is asking; a user no longer allowed in sees the reason as an error."""
    try:
        return identity(app, request, typed)
    except NotAllowed as err:
        raise gr.Error(str(err)) from err


def trainer_only(app: WebApp) -> Callable[[gr.Request], None]:
    """Return a guard that lets only trainers on (the server checks, whatever the page shows)."""
    def guard(request: gr.Request) -> None:
        try:
            app.require_trainer(who(app, request, None))
        except NotAllowed as err:
            raise gr.Error(str(err)) from err
    return guard
