"""Issue 10 on the served app (fake engine): login lock-out, owner checks, trusted-room mode
and text at the edge, through HTTP, the Gradio API and a real browser."""

from __future__ import annotations

import importlib.util
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from _served import MINIMAL, Served, serve_fake
from fake_engine import FakeEngine
from gradio_client import Client
from playwright.sync_api import Browser, Page, expect

from roleplay.users import User, Users, hash_password
from roleplay.web.actions import Identity, NotAllowed, WebApp
from roleplay.web.gate import LoginThrottle

PASSWORD = "right-password"
SESSION_ID = re.compile(r"^[0-9a-f]{12}$")


def serve(tmp: Path, login: bool, throttle: LoginThrottle | None = None) -> Served:
    hashed = hash_password(PASSWORD)
    users = Users([User(name=n, password=hashed, role="trainer" if n == "tess" else "trainee")
                   for n in ("ann", "bob", "tess", "mal", "eve")]) if login else None
    return serve_fake(tmp, users=users, throttle=throttle)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    app = serve(tmp_path_factory.mktemp("hardened"), login=True)
    yield app
    app.demo.close()


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    app = serve(tmp_path_factory.mktemp("room"), login=False)
    yield app
    app.demo.close()


def client(app: Served, name: str) -> Client:
    return Client(app.url, auth=(name, PASSWORD), verbose=False, download_files=False)


def start(c: Client) -> str:
    out = c.predict("late-parcel", "", api_name="/start_call")
    return next(o for o in out if isinstance(o, str) and SESSION_ID.match(o))


def login(url: str, name: str, password: str) -> int:
    return httpx.post(url + "login", data={"username": name, "password": password}).status_code


# --- 1. login -------------------------------------------------------------------------------

def test_sixty_wrong_passwords_lock_the_user_out_and_the_right_one_is_refused(
        tmp_path: Path) -> None:
    app = serve(tmp_path, login=True)
    try:
        codes = [login(app.url, "mal", f"guess-{i}") for i in range(60)]
        assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
        assert login(app.url, "mal", PASSWORD) == 429
        refused = httpx.post(app.url + "login", data={"username": "mal", "password": PASSWORD})
        assert "Try again in 15 minutes" in refused.json()["detail"]
        # Attempts on a locked name are not counted, so its lock does not spread to the
        # address: another user there still logs in.
        assert login(app.url, "ann", PASSWORD) == 200
    finally:
        app.demo.close()


def test_failures_from_one_address_across_names_lock_the_address(tmp_path: Path) -> None:
    app = serve(tmp_path, login=True, throttle=LoginThrottle(delay=0, address_failures=8))
    try:
            # Two tries per name: no name is locked, the address is after its eighth failure.
        assert [login(app.url, name, "guess") for name in ("x1", "x2", "x3", "x4") * 2] \
            == [400] * 8
        assert login(app.url, "ann", PASSWORD) == 429
    finally:
        app.demo.close()


# --- 2. owner checks ------------------------------------------------------------------------

def test_another_users_session_hash_is_refused_and_adds_nothing(served: Served) -> None:
    ann, bob = client(served, "ann"), client(served, "bob")
    sid = start(ann)
    ann.predict("I'm sorry, Maria.", api_name="/send")
    turns = [t.content for t in served.store.load(sid).turns]
    bob.session_hash = ann.session_hash
    for api, args in (("/send", ("Bob was here.",)), ("/retry", ()), ("/end_call", ())):
        with pytest.raises(Exception, match="403"):
            bob.predict(*args, api_name=api)
    with httpx.Client(base_url=served.url, cookies=bob.cookies) as http:
        assert http.get("gradio_api/queue/data",
                        params={"session_hash": ann.session_hash}).status_code == 403
    assert [t.content for t in served.store.load(sid).turns] == turns
    assert served.store.info(sid).ended_at is None


def test_every_call_action_checks_the_owner_behind_the_page(served: Served) -> None:
    # Behind the session-hash gate: the actions themselves refuse another user's call.
    app: WebApp = served.demo.webapp
    ann, bob = Identity("ann", "trainee"), Identity("bob", "trainee")
    tess = Identity("tess", "trainer")
    session = app.start("late-parcel", ann)
    for action in (lambda who: list(app.say(session, "Hello.", who)),
                   lambda who: list(app.retry(session, who)),
                   lambda who: app.end(session, who),
                   lambda who: app.resume(session.session_id, who)):
        for other in (bob, tess):  # a trainer reads, and never talks in another's call
            with pytest.raises(NotAllowed, match="someone else"):
                action(other)
    assert [t.role for t in served.store.load(session.session_id).turns] == ["customer"]
    list(app.say(session, "I'm sorry, Maria.", ann))
    app.end(session, ann)
    with pytest.raises(NotAllowed, match="someone else"):
        app.stored_report(session.session_id, bob, "h")
    assert app.stored_report(session.session_id, tess, "h") is not None


def test_a_report_download_is_served_only_to_its_owner_or_a_trainer(served: Served) -> None:
    ann = client(served, "ann")
    start(ann)
    ann.predict("I'm sorry, Maria. I will fix it today.", api_name="/send")
    ended = str(ann.predict(api_name="/end_call"))
    urls = sorted(set(re.findall(r"https?://[^'\"\s]+report-[0-9a-f]+\.(?:md|json)", ended)))
    assert len(urls) == 2
    for name, expected in (("ann", 200), ("bob", 403), ("tess", 200)):
        with httpx.Client(cookies=client(served, name).cookies) as http:
            assert [http.get(url).status_code for url in urls] == [expected] * 2, name
    assert httpx.get(urls[0]).status_code in (401, 403)  # and nothing without login


# --- 3. trusted room (login off) ------------------------------------------------------------

def test_without_login_the_page_says_so_and_a_link_alone_cannot_continue_a_call(
        room: Served, chromium: Browser) -> None:
    first = chromium.new_context()
    second = chromium.new_context()
    try:
        page = first.new_page()
        page.goto(room.url)
        expect(page.locator("#trusted-room")).to_contain_text("Login is off")
        page.get_by_label("Your name").fill("Ann")
        page.locator("#start-late-parcel").click()
        expect(page.locator("#mood-meter")).to_be_visible()
        page.wait_for_url(re.compile(r"session="))
        link = page.url
        [info] = room.store.list_sessions(user="Ann")
        assert info.browser is not None
        other = second.new_page()
        other.goto(link)
        expect(other.locator("#picker-message")).to_contain_text("belongs to someone else")
        expect(other.locator("#mood-meter")).to_be_hidden()
        # The browser that started it reopens it from the same link.
        page.goto(link)
        expect(page.locator("#mood-meter")).to_be_visible()
    finally:
        first.close()
        second.close()


def test_a_forged_browser_cookie_is_no_browser(room: Served) -> None:
    app: WebApp = room.demo.webapp
    cookie = app.cookies.new().split(";")[0].split("=", 1)[1]
    browser = app.cookies.browser(cookie)
    assert browser is not None and app.cookies.browser(cookie[:-1] + "0") in (None, browser)
    assert app.cookies.browser(f"{uuid.uuid4().hex}.{'0' * 32}") is None
    assert app.cookies.browser(None) is None


# --- 4. text at the edge --------------------------------------------------------------------

@pytest.mark.parametrize("line, told", [
    ("I understand. " * 200, "at most 2,000"), ("\x00\x00", "a NUL byte"),
    ("Sorry\x1b[2J", "a control character")])
def test_a_bad_line_is_refused_over_the_api_and_the_call_goes_on(
        served: Served, line: str, told: str) -> None:
    ann = client(served, "ann")
    sid = start(ann)
    out = str(ann.predict(line, api_name="/send"))
    assert told in out and "Your line" in out
    assert [t.role for t in served.store.load(sid).turns] == ["customer"]
    ann.predict("I'm sorry, Maria.", api_name="/send")
    assert [t.role for t in served.store.load(sid).turns] == ["customer", "trainee", "customer"]


def test_in_the_browser_a_long_line_is_refused_kept_in_the_box_and_the_call_goes_on(
        room: Served, chromium: Browser) -> None:
    context = chromium.new_context()
    try:
        page: Page = context.new_page()
        page.goto(room.url)
        page.get_by_label("Your name").fill("Liam")
        page.locator("#start-late-parcel").click()
        expect(page.locator("#mood-meter")).to_be_visible()
        long_line = "I hear you. " * 200
        page.locator("#message textarea").fill(long_line)
        page.locator("#send").click()
        expect(page.locator("#call-error")).to_contain_text("a line may be at most 2,000")
        expect(page.locator("#message textarea")).to_have_value(long_line)
        page.locator("#message textarea").fill("I hear you, Maria.")
        page.locator("#send").click()
        expect(page.locator('#chat [data-testid="bot"]').last).to_have_text(
            "Fine. What happens now?")
        [info] = room.store.list_sessions(user="Liam")
        assert [t.content for t in room.store.load(info.session_id).turns
                if t.role == "trainee"] == ["I hear you, Maria."]
    finally:
        context.close()


# --- 5. the security probe ------------------------------------------------------------------

def _probe() -> ModuleType:
    path = Path(__file__).parents[2] / "evals" / "security_probe.py"
    spec = importlib.util.spec_from_file_location("security_probe", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def probe_args(app: Served) -> list[str]:
    return [app.url, "--trainee", f"ann:{PASSWORD}", "--other", f"bob:{PASSWORD}",
            "--trainer", f"tess:{PASSWORD}", "--brute-user", f"eve:{PASSWORD}"]


def test_the_security_probe_finds_no_defect(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    app = serve(tmp_path, login=True)
    try:
        code = _probe().main(probe_args(app))
    finally:
        app.demo.close()
    out = capsys.readouterr().out
    assert "| probe | expected | observed | result |" in out and "DEFECT" not in out, out
    assert code == 0 and out.count("| ok |") >= 20


def test_the_security_probe_fails_on_an_app_without_a_lock_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = serve(tmp_path, login=True,
                throttle=LoginThrottle(delay=0, user_failures=10**6, address_failures=10**6))
    try:
        code = _probe().main(probe_args(app))
    finally:
        app.demo.close()
    out = capsys.readouterr().out
    [row] = [line for line in out.splitlines() if "wrong passwords, then the right one" in line]
    assert code == 1 and row.endswith("| DEFECT |") and "right one HTTP 200" in row


def test_when_retry_keeps_failing_the_line_can_be_taken_back_and_the_call_goes_on(
        served: Served) -> None:
    engine = served.demo.webapp.engine
    assert isinstance(engine, FakeEngine)
    ann = client(served, "ann")
    sid = start(ann)
    engine.fail_next = 2  # the backend is down for the line and its retry
    assert "could not answer" in str(ann.predict("Let me check that, Maria.", api_name="/send"))
    assert "could not answer" in str(ann.predict(api_name="/retry"))
    assert served.store.load(sid).awaiting_reply
    out = ann.predict(api_name="/take_back")
    assert "Let me check that, Maria." in out  # back in the message box
    assert [t.role for t in served.store.load(sid).turns] == ["customer"]
    ann.predict("I'm sorry, Maria. I'll check it now.", api_name="/send")
    assert [t.role for t in served.store.load(sid).turns] == ["customer", "trainee", "customer"]


def test_a_persona_that_cannot_be_written_says_so_without_the_servers_path(
        tmp_path: Path) -> None:
    from roleplay.errors import PersonaError
    from roleplay.web.publish import publish_persona

    (tmp_path / "not-a-folder").write_text("", encoding="utf-8")
    personas = tmp_path / "not-a-folder" / "personas"
    with pytest.raises(PersonaError) as err:
        publish_persona(MINIMAL, personas)
    [problem] = err.value.problems
    shown = f"{problem.file} {problem.message} {problem.fix}"
    assert "Not a directory" in shown and str(tmp_path) not in shown and "Errno" not in shown


def test_a_trainers_export_is_served_only_to_trainers(served: Served) -> None:
    ann = client(served, "ann")
    start(ann)
    ann.predict("I'm sorry, Maria. I will fix it today.", api_name="/send")
    ann.predict(api_name="/end_call")
    board = client(served, "tess").predict("", "", "", "", api_name="/dashboard")
    urls = sorted(set(re.findall(r"https?://[^'\"\s]+/team-[\w.-]+", str(board))))
    assert any(u.endswith("/team-dashboard.csv") for u in urls), urls
    for name, expected in (("tess", 200), ("ann", 403), ("bob", 403)):
        with httpx.Client(cookies=client(served, name).cookies) as http:
            assert {http.get(url).status_code for url in urls} == {expected}, name
    assert httpx.get(urls[0]).status_code in (401, 403)  # and nothing without login
