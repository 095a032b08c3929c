"""Probe a running roleplay web app the way an attacker or a careless user would.

    python evals/security_probe.py http://127.0.0.1:7860/ \\
        --trainee ann:PASSWORD --other bob:PASSWORD --trainer tess:PASSWORD \\
        --brute-user mallory:PASSWORD

It needs login on and four users: two trainees, a trainer and one more to be locked out by
the brute-force probe (that user and this machine's address stay locked for the lock time,
15 minutes by default: run it from a machine no trainee uses, against a test database if
you can; it starts calls and publishes nothing). It prints a table of probes and results and
exits 1 if any probe found a defect (or could not run), 0 otherwise. tests/unit/
test_security_probe.py runs it against the app on the fake engine, so CI runs it.

The probes: login brute force (60 wrong passwords, then the right one must still be
refused); another user's call by Gradio session hash (sending a line, listening to its
replies) and by URL (`?session=<id>`, the report downloads); oversized and malformed chat
lines (refused with a message, nothing stored, the call still answers); malformed persona
uploads through the trainer view's publish (refused, no server path or Python error shown).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
from gradio_client import Client

# What must never reach a page: Python's own words and the server's paths.
LEAKS = re.compile(r"Traceback|Errno|Exception|Error:|File \"|/personas/|\.py\b|ValueError|"
                   r"KeyError|TypeError|RecursionError|UnicodeEncodeError")
REFUSED_LINE = "Your line"
SESSION_ID = re.compile(r"^[0-9a-f]{12}$")


@dataclass
class Result:
    """One probe: what was tried, what a sound app does, what this one did."""

    probe: str
    expected: str
    observed: str
    ok: bool


@dataclass
class Account:
    name: str
    password: str


def account(text: str) -> Account:
    name, sep, password = text.partition(":")
    if not sep or not name:
        raise argparse.ArgumentTypeError("give NAME:PASSWORD")
    return Account(name, password)


class App:
    """The app under probe, over its public HTTP and Gradio API."""

    def __init__(self, url: str, persona: str):
        self.url = url.rstrip("/") + "/"
        self.persona = persona

    def client(self, who: Account) -> Client:
        return Client(self.url, auth=(who.name, who.password), verbose=False,
                      download_files=False)

    def login(self, who: Account, password: str | None = None) -> int:
        """POST /login; the status code (200 in, 400 wrong, 429 locked)."""
        response = httpx.post(self.url + "login", timeout=30,
                              data={"username": who.name, "password": password or who.password})
        return response.status_code

    def http(self, client: Client) -> httpx.Client:
        """An httpx client with `client`'s login cookie."""
        return httpx.Client(base_url=self.url, cookies=client.cookies, timeout=30)

    def start(self, client: Client) -> str:
        """Start a call as `client`'s user; return its session id."""
        out = client.predict(self.persona, "", api_name="/start_call")
        ids = [o for o in out if isinstance(o, str) and SESSION_ID.match(o)]
        if not ids:
            raise RuntimeError(f"no call started: {_text(out)[:200]}")
        return ids[0]

    def turns(self, client: Client) -> int:
        """The turns of the user's newest session, from their History tab."""
        out = client.predict("", api_name="/show_history")
        rows: list[list[Any]] = next((o["data"] for o in out if isinstance(o, dict) and "data" in o), [])
        return int(rows[0][3]) if rows else 0

    def on_load(self, client: Client, query: str) -> str:
        """What the page shows `client`'s user on opening `?<query>`, as text."""
        return self.raw(client, "on_load", [""], query=query,
                        session_hash=uuid.uuid4().hex[:11])

    def raw(self, client: Client, api_name: str, data: list[Any], query: str = "",
            session_hash: str | None = None) -> str:
        """Run one event the way the browser does: JSON with ASCII escapes, so text the
        browser can hold and httpx cannot encode (a lone surrogate) reaches the server.
        Returns the output as text; raises for an HTTP error or a failed event."""
        with self.http(client) as http:
            deps = http.get("config").json()["dependencies"]
            fn = next(d["id"] for d in deps if d.get("api_name") == api_name)
            session_hash = session_hash or client.session_hash
            body = json.dumps({"data": data, "fn_index": fn, "session_hash": session_hash,
                               "event_data": None, "trigger_id": None})
            http.post(f"gradio_api/queue/join?{query}", content=body.encode("ascii"),
                      headers={"content-type": "application/json"}).raise_for_status()
            with http.stream("GET", "gradio_api/queue/data",
                             params={"session_hash": session_hash}) as stream:
                for line in stream.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    message = json.loads(line[5:])
                    if message.get("msg") == "process_completed":
                        if not message.get("success", True):
                            raise RuntimeError(_text(message.get("output"))[:200])
                        return _text(message.get("output"))
        raise RuntimeError("the event stream ended without a result")


def _text(value: Any) -> str:
    return json.dumps(value, default=str)


def _refusal(call: Callable[[], Any]) -> tuple[bool, str]:
    """Run `call`; (refused, what came back). An error raised by the server is a refusal."""
    try:
        out = call()
    except Exception as err:  # noqa: BLE001 - any refusal by the server counts
        return True, f"{type(err).__name__}: {str(err).splitlines()[0][:90]}"
    return False, _text(out)


# --- the probes ---------------------------------------------------------------------------------

def cross_user(app: App, ann: Account, bob: Account) -> list[Result]:
    """Bob tries Ann's call by her session hash and by its URLs."""
    a, b = app.client(ann), app.client(bob)
    sid = app.start(a)
    a.predict("I'm sorry about the parcel, let me check it now.", api_name="/send")
    before = app.turns(a)
    results = []
    b.session_hash = a.session_hash
    refused, seen = _refusal(lambda: b.predict("Bob was here.", api_name="/send"))
    after = app.turns(a)
    results.append(Result("send with another user's session hash", "refused, call unchanged",
                          f"{'refused' if refused else 'ACCEPTED'}; turns {before}->{after}",
                          refused and after == before and "Bob was here" not in seen))
    for name, api in (("retry", "/retry"), ("end_call", "/end_call")):
        refused, _ = _refusal(partial(b.predict, api_name=api))
        results.append(Result(f"{name} with another user's session hash", "refused",
                              "refused" if refused else "ACCEPTED", refused))
    with app.http(b) as http:
        listen = http.get("gradio_api/queue/data", params={"session_hash": a.session_hash})
        rest = http.post("gradio_api/call/send", json={"data": ["Bob via REST.", None],
                                                       "session_hash": a.session_hash})
        beat = http.get(f"gradio_api/heartbeat/{a.session_hash}")
        cancel = http.post("gradio_api/cancel", json={"session_hash": a.session_hash,
                                                      "fn_index": 0, "event_id": "x"})
    for name, response in (("listen to another user's event stream", listen),
                           ("REST /call/send with another user's session hash", rest),
                           ("heartbeat of another user's session", beat),
                           ("cancel another user's events", cancel)):
        results.append(Result(name, "HTTP 403", f"HTTP {response.status_code}",
                              response.status_code == 403))
    b.session_hash = uuid.uuid4().hex[:11]
    shown = app.on_load(b, f"session={sid}")
    results.append(Result("open another user's call by URL (?session=)", "refused, no transcript",
                          "refused" if "someone else" in shown else shown[:60],
                          "someone else" in shown and "let me check it now" not in shown))
    ended = a.predict(api_name="/end_call")
    urls = re.findall(r"https?://[^'\"\s]+report-[0-9a-f]+\.(?:md|json)", _text(ended))
    with app.http(a) as own, app.http(b) as other:
        for url in sorted(set(urls)):
            mine, theirs = own.get(url).status_code, other.get(url).status_code
            results.append(Result(f"download {url.rsplit('.', 1)[1]} report as another user",
                                  "owner 200, other 403", f"owner {mine}, other {theirs}",
                                  mine == 200 and theirs == 403))
    if not urls:
        results.append(Result("download report as another user", "owner 200, other 403",
                              "no download offered after End call", False))
    return results


BAD_LINES: Sequence[tuple[str, str]] = (
    ("a line of 10,000 characters", "I understand. " * 715),
    ("a line of 1 MB", "x" * 1_000_000),
    ("only NUL bytes", "\x00\x00"),
    ("a lone surrogate", "Sorry \ud800 about that"),
    ("a terminal escape", "Sorry\x1b[2J about that"),
    ("another control character", "Sorry\x07 about that"),
)


def bad_lines(app: App, ann: Account) -> list[Result]:
    """Oversized and malformed chat lines: refused with a message, nothing stored."""
    a = app.client(ann)
    app.start(a)
    results = []
    for name, line in BAD_LINES:
        before = app.turns(a)
        refused, seen = _refusal(partial(app.raw, a, "send", [line, None]))
        after = app.turns(a)
        told = REFUSED_LINE in seen
        results.append(Result(f"send {name}", "message, nothing stored",
                              f"{'message' if told else 'no message'}; turns {before}->{after}"
                              + ("; server error" if refused else ""),
                              told and after == before and not LEAKS.search(seen)))
    out = a.predict("I'm sorry, let me sort this out for you right now.", api_name="/send")
    answered = app.turns(a)
    results.append(Result("a good line after the bad ones", "answered (the call is not stuck)",
                          f"turns {answered}", "press Retry" not in _text(out) and answered >= 3))
    return results


PERSONAS: Sequence[tuple[str, str]] = (
    ("NUL byte", "id: probe\x00\ntitle: x\n"),
    ("lone surrogate", "id: probe\ntitle: \ud800\n"),
    ("brackets 600 deep", "id: " + "[" * 600),
    ("id of 300 characters", "id: " + "a" * 300 + "\ntitle: x\n"),
    ("explicit tag", "id: !!python/object:os.system probe\n"),
    ("anchors and aliases", "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"),
    ("not YAML", "{{{ :::\n\t- ]["),
    ("1 MB of text", "id: probe\ntitle: " + "x" * 1_000_000 + "\n"),
)


def personas(app: App, tess: Account, ann: Account) -> list[Result]:
    """Malformed persona uploads through publish: refused, no path or Python error shown."""
    t = app.client(tess)
    results = []
    for name, text in PERSONAS:
        refused, seen = _refusal(partial(app.raw, t, "publish_persona", [text, False]))
        leak = LEAKS.search(seen)
        results.append(Result(f"publish a persona with {name}", "not published, plain message",
                              ("server error" if refused else "not published"
                               if "Not published" in seen else "PUBLISHED")
                              + (f"; shows {leak.group()!r}" if leak else ""),
                              not refused and "Not published" in seen and not leak))
    refused, seen = _refusal(lambda: app.client(ann).predict("id: probe\n", True,
                                                              api_name="/publish_persona"))
    results.append(Result("a trainee publishes a persona", "refused (trainers only)",
                          "refused" if refused and "trainers" in seen else "ACCEPTED",
                          refused and "trainers" in seen))
    return results


def brute_force(app: App, victim: Account, tries: int = 60) -> list[Result]:
    """`tries` wrong passwords, then the right one: refused while locked."""
    start = time.monotonic()
    codes = [app.login(victim, f"wrong-{i}") for i in range(tries)]
    right = app.login(victim)
    took = time.monotonic() - start
    locked = codes.count(429)
    return [Result(f"{tries} wrong passwords, then the right one", "right one refused (locked)",
                   f"{locked} of {tries} locked out, right one HTTP {right}, {took:.1f} s",
                   right == 429 and locked > 0 and 200 not in codes)]


def run(app: App, ann: Account, bob: Account, tess: Account, victim: Account) -> list[Result]:
    """Every probe; the brute force last, since it locks this address out."""
    results = [Result("wrong password", "refused", f"HTTP {code}", code == 400)
               for code in [app.login(ann, "not-the-password")]]
    for probe, args in ((cross_user, (app, ann, bob)), (bad_lines, (app, ann)),
                        (personas, (app, tess, ann)), (brute_force, (app, victim))):
        try:
            results += probe(*args)  # type: ignore[operator]
        except Exception as err:  # noqa: BLE001 - a probe that cannot run is a finding too
            results.append(Result(probe.__name__, "runs", f"could not run: {err}"[:120], False))
    return results


def table(results: list[Result]) -> str:
    """The results as a Markdown table."""
    rows = ["| probe | expected | observed | result |", "|---|---|---|---|"]
    rows += [f"| {r.probe} | {r.expected} | {r.observed} | {'ok' if r.ok else 'DEFECT'} |"
             for r in results]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--trainee", type=account, required=True, metavar="NAME:PASSWORD")
    parser.add_argument("--other", type=account, required=True, metavar="NAME:PASSWORD",
                        help="a second trainee")
    parser.add_argument("--trainer", type=account, required=True, metavar="NAME:PASSWORD")
    parser.add_argument("--brute-user", type=account, required=True, metavar="NAME:PASSWORD",
                        help="a user this probe may lock out")
    parser.add_argument("--persona", default="late-parcel", help="a scenario id to call")
    args = parser.parse_args(argv)
    results = run(App(args.url, args.persona), args.trainee, args.other, args.trainer,
                  args.brute_user)
    print(table(results))
    defects = sum(not r.ok for r in results)
    print(f"\n{len(results)} probes, {defects} defect{'s' if defects != 1 else ''}")
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
