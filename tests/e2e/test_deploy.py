"""Several app processes on one database and one model server, in a real browser.

`roleplay model-server` serves the embedded model; two `roleplay serve` processes point at it
with ROLEPLAY_BASE_URL and share one PostgreSQL database (the throwaway server of
tests/postgres_server.py). A trainee starts a call on process A, then
(as after a failover, or a load balancer sending the reload elsewhere) opens the same call on
process B, logs in there and goes on: every line is in the store, in order, in one session.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from e2e_support import ARTIFACTS, USERS, app_files
from playwright.sync_api import Browser, Page, expect
from postgres_server import PostgresServer
from pydantic import SecretStr
from test_web import BOT, CALMING, FOLLOW_UP, say, start_call

from roleplay.config import EMBEDDED_MODEL_NAME, Settings
from roleplay.launcher import AppProcess, ModelServerProcess
from roleplay.store import open_store

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer
               ) -> Iterator[tuple[AppProcess, AppProcess, str]]:
    tmp = tmp_path_factory.mktemp("deploy")
    personas, users = app_files(tmp)
    db = postgres.new_database()
    logs = ARTIFACTS / "deploy"
    with ModelServerProcess({}, logs / "model-server.log", parallel=2) as model:
        model.ready()
        env = {"ROLEPLAY_BASE_URL": model.base_url, "ROLEPLAY_MODEL": EMBEDDED_MODEL_NAME,
               "ROLEPLAY_DATABASE_URL": db, "ROLEPLAY_PERSONAS_DIR": str(personas),
               "ROLEPLAY_USERS": str(users)}
        with AppProcess(env, logs / "app-a.log") as a, AppProcess(env, logs / "app-b.log") as b:
            a.ready()
            b.ready()
            yield a, b, db


def log_in(page: Page, url: str, user: str) -> None:
    page.goto(url)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(USERS[user][0])
    page.get_by_role("button", name="Login").click()
    page.wait_for_selector("#tab-practice-button")


def test_a_call_begun_on_one_process_goes_on_on_another(
        chromium: Browser, deployment: tuple[AppProcess, AppProcess, str]) -> None:
    a, b, db = deployment
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        log_in(page, a.url, "ann")
        start_call(page, "crm-outage")
        first = say(page, CALMING)
        session_id = page.url.split("session=")[1].split("&")[0]
        lines = page.locator("#chat [data-testid]").all_inner_texts()

        # Process B has its own login sessions: the trainee logs in there, and the address
        # with the session brings the call back from the database.
        log_in(page, f"{b.url}?session={session_id}", "ann")
        expect(page.locator(BOT)).to_have_count(2, timeout=60_000)
        assert page.locator("#chat [data-testid]").all_inner_texts() == lines
        second = say(page, FOLLOW_UP)
    finally:
        context.close()

    store = open_store(Settings(database_url=SecretStr(db)))
    [session] = store.list_sessions(user="ann")
    turns = store.load(session.session_id).turns
    assert session.session_id == session_id
    assert [t.role for t in turns] == ["customer", "trainee", "customer", "trainee", "customer"]
    assert [t.content for t in turns[1:]] == [CALMING, first, FOLLOW_UP, second]


def test_wrong_passwords_spread_over_the_processes_lock_the_user_out_on_both(
        deployment: tuple[AppProcess, AppProcess, str]) -> None:
    a, b, _ = deployment

    def login(url: str, password: str) -> int:
        return httpx.post(url + "login", data={"username": "bob", "password": password},
                          timeout=60).status_code

    # Five wrong passwords in all, taking turns: neither process saw five by itself.
    codes = [login(url, f"guess-{i}") for i, url in enumerate([a.url, b.url] * 3)]
    assert codes == [400] * 5 + [429], codes
    assert login(a.url, USERS["bob"][0]) == login(b.url, USERS["bob"][0]) == 429
