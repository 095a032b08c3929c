"""The browser cookie of login-off ("trusted room") mode: `<id>.<HMAC of id>`.

With login off nobody is known by name, so a call is bound to the browser that started it:
gate.Gate gives every browser this cookie, WebApp records its id with each call it starts,
and only a request carrying the same signed id may continue the call. The HMAC (with the
store's signing key) means no id can be made up; the id itself is random.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

BROWSER_COOKIE = "roleplay-browser"


class BrowserCookies:
    """Makes and checks browser cookies with one key."""

    def __init__(self, key: bytes):
        self._key = key

    def new(self) -> str:
        """A Set-Cookie header value naming a new browser."""
        browser = secrets.token_hex(16)
        return (f"{BROWSER_COOKIE}={browser}.{self._sign(browser)}; Path=/; HttpOnly; "
                "SameSite=Lax; Max-Age=31536000")

    def browser(self, cookie: str | None) -> str | None:
        """The browser id of a cookie value signed with this key; None for any other."""
        browser, _, mac = (cookie or "").partition(".")
        if not browser or not hmac.compare_digest(mac, self._sign(browser)):
            return None
        return browser

    def _sign(self, browser: str) -> str:
        return hmac.new(self._key, browser.encode(), hashlib.sha256).hexdigest()[:32]
