"""The real app (`roleplay serve` on the embedded model) and Debian's chromium, for e2e tests.

The server runs in a subprocess exactly as a user starts it, on a free 127.0.0.1 port, with
a temporary database, a copy of the shipped personas (publishing must not touch the
checkout) and a users file with two trainees and a trainer. Every page records the requests
it makes, and each test checks that none left 127.0.0.1: the app must work offline.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from e2e_support import ARTIFACTS, CHROMIUM, USERS, Server, Visit, app_files
from playwright.sync_api import Browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/setup --test)")
    tmp = tmp_path_factory.mktemp("e2e")
    personas, users = app_files(tmp)
    port = _free_port()
    env = {**os.environ, "ROLEPLAY_DB": str(tmp / "roleplay.sqlite3"),
           "ROLEPLAY_PERSONAS_DIR": str(personas), "ROLEPLAY_USERS": str(users),
           "ROLEPLAY_HOST": "127.0.0.1", "ROLEPLAY_PORT": str(port)}
    for name in ("ROLEPLAY_BASE_URL", "AZURE_OPENAI_ENDPOINT"):
        env.pop(name, None)  # the embedded model, whatever the developer's shell says
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "e2e-server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "roleplay", "serve"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"roleplay serve exited with {proc.returncode}:\n"
                            + log_path.read_text())
            try:
                if httpx.get(url, timeout=5).status_code in (200, 401):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        yield Server(url, f"127.0.0.1:{port}", personas, tmp / "roleplay.sqlite3", log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser(chromium: Browser) -> Browser:
    return chromium  # tests/conftest.py owns the one Playwright driver of the run


@pytest.fixture
def login(browser: Browser, server: Server) -> Iterator[Callable[..., Visit]]:
    """Open a fresh browser context (its own cookies and storage) logged in as a user."""
    contexts = []

    def open_as(user: str, path: str = "") -> Visit:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        record = Visit(page)
        page.on("request", lambda r: record.requests.append(r.url))
        page.goto(server.url + path)
        page.get_by_label("username").fill(user)
        page.get_by_label("password").fill(USERS[user][0])
        page.get_by_role("button", name="Login").click()
        page.wait_for_selector("#tab-practice-button")
        return record

    yield open_as
    for context in contexts:
        context.close()


