"""What the server checks before Gradio handles a request: logins, downloads, sessions.

Gradio's `auth=` callable gets a name and a password but not the client's address, and its
file and queue routes only check that someone is logged in. `Gate` is a plain ASGI
middleware on Gradio's own FastAPI app (passed in through `launch(app_kwargs=...)`) that
fills those gaps:

- it puts the client address of every request in `CLIENT`, where `LoginGate` (the `auth=`
  callable) reads it to slow and lock out failed logins per user and per address;
- a report download (`.../file=.../report-<session>.md|json`) is served only to the
  call's owner or a trainer, and a trainer's export (dashboard and results CSV, xAPI
  statements: `.../file=.../team-<name>`) only to a trainer, so a link that leaks
  from a trainer's screen gives a trainee nothing;
- a Gradio session hash (the key of the page state: the open call) is tied to the first
  user, or with login off the first browser, that uses it; anyone else using it is refused,
  so a leaked hash neither opens another's call nor listens to its replies;
- with login off, every browser gets a signed cookie (`roleplay-browser`), the key a call
  started without login is bound to (see WebApp.owned_session).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any, Protocol
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roleplay.errors import RoleplayError
from roleplay.users import Users
from roleplay.web.actions import Identity, WebApp
from roleplay.web.coached import EXPORT_PREFIX
from roleplay.web.cookies import BROWSER_COOKIE

log = logging.getLogger(__name__)

CLIENT: contextvars.ContextVar[str] = contextvars.ContextVar("roleplay_client", default="?")
"""The address of the client whose request is being handled (set by Gate)."""

_REPORT_FILE = re.compile(r"/file=.*report-([0-9A-Za-z]+)\.(?:md|json)$")
_EXPORT_FILE = re.compile(rf"/file=.*/{re.escape(EXPORT_PREFIX)}[^/]+$")
"""A trainer's download (named by roleplay.web.coached.CoachedApp.export_file)."""
_HASH_IN_PATH = re.compile(r"/heartbeat/([^/]+)$|/stream/([^/]+)/[^/]+/[^/]+")
_MAX_HASHES = 100_000
"""Session hashes remembered; the oldest are forgotten first (a page open for days)."""


# --- logins ---------------------------------------------------------------------------------

class FailureLog(Protocol):
    """Where `LoginThrottle` keeps failed logins and locks, by key (`user:<name>`,
    `address:<address>`): in this process (`MemoryFailureLog`), or in the database every
    app process shares (roleplay.store.logins.SqlFailureLog)."""

    def add(self, key: str, at: float, since: float) -> int:
        """Record a failure of `key` at `at`, forget those before `since`; return the count."""
        ...

    def count(self, key: str, since: float) -> int:
        """Failures of `key` at or after `since`."""
        ...

    def lock(self, key: str, until: float) -> None:
        """Lock `key` until `until` (a longer lock already there stays)."""
        ...

    def locked_until(self, key: str) -> float:
        """When `key`'s lock ends (0 if it has none)."""
        ...

    def forget(self, key: str, latest_only: bool = False) -> None:
        """Forget `key`'s failures, or only its latest one."""
        ...


@dataclass
class MemoryFailureLog:
    """A `FailureLog` in this process: one app process only, forgotten on restart."""

    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _locked: dict[str, float] = field(default_factory=dict)

    def add(self, key: str, at: float, since: float) -> int:
        times = self._failures.setdefault(key, deque())
        while times and times[0] < since:
            times.popleft()
        times.append(at)
        if len(self._failures) > _MAX_HASHES:  # names an attacker makes up, forgotten
            self._failures = {k: v for k, v in self._failures.items() if v and v[-1] >= since}
        return len(times)

    def count(self, key: str, since: float) -> int:
        return sum(1 for t in self._failures.get(key, ()) if t >= since)

    def lock(self, key: str, until: float) -> None:
        self._locked[key] = max(until, self._locked.get(key, 0.0))

    def locked_until(self, key: str) -> float:
        return self._locked.get(key, 0.0)

    def forget(self, key: str, latest_only: bool = False) -> None:
        if not latest_only:
            self._failures.pop(key, None)
        elif self._failures.get(key):
            self._failures[key].pop()


@dataclass
class LoginThrottle:
    """Failed logins, per user name and per client address: slowed, then locked out.

    Each failure in the last `window` seconds counts. A user name with `user_failures`
    of them, or an address with `address_failures` (a classroom shares one), is locked for
    `lock` seconds: every login for it is refused, the right password too, and not counted.
    Before that, each failure waits `delay` seconds, doubled per failure, at most
    `max_delay`. The failures and locks are kept in `log`: give several app processes the
    database's (`SqlFailureLog`) so a guesser cannot spread tries over them. `clock` is
    epoch seconds, the one clock processes share.
    """

    user_failures: int = 5
    address_failures: int = 20
    window: float = 15 * 60
    lock: float = 15 * 60
    delay: float = 0.5
    max_delay: float = 4.0
    clock: Callable[[], float] = time.time
    log: FailureLog = field(default_factory=MemoryFailureLog)

    def locked_for(self, name: str, address: str) -> float:
        """Seconds until `name` from `address` may try again; 0 if they may now."""
        now = self.clock()
        return max(0.0, *(self.log.locked_until(key) - now for key in _keys(name, address)))

    def attempt(self, name: str, address: str) -> None:
        """Count an attempt as failed before the password is checked, so that many at once
        cannot all slip in before the first failure is counted; success() takes it back."""
        now = self.clock()
        for key, limit in zip(_keys(name, address), (self.user_failures, self.address_failures),
                              strict=True):
            if (self.log.add(key, now, now - self.window) >= limit
                    and self.log.locked_until(key) <= now):
                self.log.lock(key, now + self.lock)

    def success(self, name: str, address: str) -> None:
        """A right password: the user starts afresh; the address keeps its other failures."""
        user, place = _keys(name, address)
        self.log.forget(user)
        self.log.forget(place, latest_only=True)

    def wait(self, name: str) -> float:
        """Seconds a failed login of `name` waits before its answer."""
        count = self.log.count(_keys(name, "")[0], self.clock() - self.window)
        return min(self.max_delay, self.delay * 2 ** max(0, count - 1)) if self.delay else 0.0


def _keys(name: str, address: str) -> tuple[str, str]:
    return f"user:{name}", f"address:{address}"


class LoginGate:
    """The password check behind the throttle; its `check` is Gradio's `auth=` callable."""

    def __init__(self, users: Users, throttle: LoginThrottle):
        self.users = users
        self.throttle = throttle

    async def check(self, name: str, password: str) -> bool:
        """True for the right password of a user who is not locked out (HTTP 429 if locked).

        A coroutine function on purpose: Gradio awaits it only if
        `inspect.iscoroutinefunction` says so, and would take the coroutine of an object's
        async `__call__` for a truthy answer.
        """
        address = CLIENT.get()
        # The throttle may ask the database (SqlFailureLog): off the event loop, like scrypt.
        locked = await asyncio.to_thread(self.throttle.locked_for, name, address)
        if locked:
            from fastapi import HTTPException

            # Refused at once and not counted: hammering a locked name does not lengthen
            # its lock, nor lock the address its owner shares with a classroom.
            minutes = math.ceil(locked / 60)
            log.warning("login refused (locked %d min): %r from %s", minutes, name, address)
            raise HTTPException(status_code=429, detail=(
                f"Too many failed logins. Try again in {minutes} minute"
                f"{'s' if minutes != 1 else ''}, or ask your trainer."))
        await asyncio.to_thread(self.throttle.attempt, name, address)
        # scrypt takes about 0.1 s of CPU: off the event loop, which serves everyone.
        if await asyncio.to_thread(self.users.authenticate, name, password):
            await asyncio.to_thread(self.throttle.success, name, address)
            return True
        log.warning("failed login: %r from %s", name, address)
        await asyncio.sleep(await asyncio.to_thread(self.throttle.wait, name))
        return False


# --- the middleware -------------------------------------------------------------------------

class Gate:
    """ASGI middleware in front of Gradio's routes (see the module docstring)."""

    def __init__(self, app: ASGIApp, webapp: WebApp):
        self.app = app
        self.webapp = webapp
        self._hashes: dict[str, str] = {}
        """Gradio session hash -> the user (or browser) who first used it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = CLIENT.set(str(client[0]) if client else "?")
        try:
            await self._handle(scope, receive, send)
        finally:
            CLIENT.reset(token)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        cookies = _cookies(scope)
        browser = self.webapp.cookies.browser(cookies.get(BROWSER_COOKIE))
        user = _gradio_user(scope, cookies)
        path: str = scope["path"]
        report = _REPORT_FILE.search(path)
        if report and not self._may_download(report.group(1), user, browser):
            await _refuse(send, 403, "This report belongs to someone else.")
            return
        if _EXPORT_FILE.search(path) and not self._is_trainer(user, browser):
            await _refuse(send, 403, "Only trainers can download the team's exports.")
            return
        # Gradio takes the session hash from a JSON body (queue/join, call/<api>, cancel,
        # reset, component_server), the query (queue/data) or the path (heartbeat, stream).
        session_hash = parse_qs(scope.get("query_string", b"").decode("latin-1")
                                ).get("session_hash", [""])[0]
        in_path = _HASH_IN_PATH.search(path)
        if in_path:
            session_hash = in_path.group(1) or in_path.group(2)
        if scope.get("method") == "POST" and _is_json(scope):
            body = await _body(receive)
            receive = _replay(body, receive)
            session_hash = _json_field(body, "session_hash") or session_hash
        owner = f"user:{user}" if user else f"browser:{browser}" if browser else None
        if session_hash and not self._same_owner(session_hash, owner):
            await _refuse(send, 403, "This page session belongs to someone else; reload the "
                                     "page.")
            return
        if not self.webapp.login and browser is None:
            send = _setting_cookie(send, self.webapp.cookies.new())
        await self.app(scope, receive, send)

    def _may_download(self, session_id: str, user: str | None, browser: str | None) -> bool:
        try:
            who = self.webapp.identity(user, None, browser)
            self.webapp.readable_session(session_id, who)
        except RoleplayError:
            return False
        return True

    def _is_trainer(self, user: str | None, browser: str | None) -> bool:
        try:
            return self.webapp.identity(user, None, browser).role == "trainer"
        except RoleplayError:
            return False

    def _same_owner(self, session_hash: str, owner: str | None) -> bool:
        if owner is None:
            # Nobody known (login off, no cookie yet): only a hash nobody holds is usable.
            return session_hash not in self._hashes
        first = self._hashes.setdefault(session_hash, owner)
        if len(self._hashes) > _MAX_HASHES:
            del self._hashes[next(iter(self._hashes))]
        return first == owner


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            with contextlib.suppress(CookieError):  # a malformed header is no cookie
                jar.load(value.decode("latin-1"))
    return {key: morsel.value for key, morsel in jar.items()}


def _gradio_user(scope: Scope, cookies: dict[str, str]) -> str | None:
    # Gradio's own login cookie, looked up the way its routes do (routes.get_current_user).
    app: Any = scope.get("app")
    cookie_id = getattr(app, "cookie_id", None)
    tokens = getattr(app, "tokens", None)
    if cookie_id is None or not isinstance(tokens, dict):
        return None
    token = (cookies.get(f"access-token-{cookie_id}")
             or cookies.get(f"access-token-unsecure-{cookie_id}"))
    user = tokens.get(token) if token else None
    return user if isinstance(user, str) else None


def _is_json(scope: Scope) -> bool:
    return any(name == b"content-type" and value.startswith(b"application/json")
               for name, value in scope.get("headers", []))


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, then: Receive) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()  # e.g. the client going away
    return receive


def _json_field(body: bytes, key: str) -> str:
    try:
        value = json.loads(body).get(key)
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def _setting_cookie(send: Send, cookie: str) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), (b"set-cookie", cookie.encode("latin-1"))]
            message = {**message, "headers": headers}
        await send(message)
    return sending


async def _refuse(send: Send, status: int, text: str) -> None:
    body = json.dumps({"detail": text}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


__all__ = ["CLIENT", "Gate", "Identity", "LoginGate", "LoginThrottle"]
