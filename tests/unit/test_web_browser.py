"""The page in a real browser on the FAKE engine: the failure paths the real model cannot be
made to take on demand (a backend error, then Retry) and login-off mode.

These are not the e2e tests (tests/e2e runs the real app on the real model); they check
what the browser shows when the engine fails, with the engine told to fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _served import MINIMAL, scenario, serve_fake
from fake_engine import FakeEngine
from playwright.sync_api import Browser, Page, expect

from roleplay.store import SqliteStore

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeEngine, SqliteStore]]:
    lost = scenario("lost-parcel").replace("The parcel is late", "The parcel is lost")
    # A broken file beside them, in every test here: it must never take the others down.
    broken = scenario("broken").encode("utf-8").replace(b"title:", b"ti\x00tle:")
    with serve_fake(tmp_path_factory.mktemp("browser"),
                    {"late-parcel": MINIMAL, "lost-parcel": lost, "broken": broken}) as served:
        yield served.url, served.engine, served.store


@pytest.fixture(scope="module")
def page(app: tuple[str, FakeEngine, SqliteStore], chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context()
    yield context.new_page()
    context.close()


def open_call(page: Page, url: str, name: str, persona_id: str = "late-parcel") -> None:
    """Open the page, type `name` and start a call with `persona_id`."""
    page.goto(url)
    page.get_by_label("Your name").fill(name)
    page.locator(f"#start-{persona_id}").click()
    expect(page.locator("#mood-meter")).to_be_visible()


def test_without_login_a_name_is_needed_and_kept_with_the_session(
        app: tuple[str, FakeEngine, SqliteStore], page: Page) -> None:
    url, _, store = app
    page.goto(url)
    page.locator("#start-late-parcel").click()
    expect(page.locator("#picker-message")).to_contain_text("type your name")
    page.get_by_label("Your name").fill("Ann Example")
    page.locator("#start-late-parcel").click()
    expect(page.locator("#mood-meter")).to_be_visible()
    assert [s.user for s in store.list_sessions()] == ["Ann Example"]


def test_a_backend_error_shows_a_message_keeps_the_line_and_retry_answers(
        app: tuple[str, FakeEngine, SqliteStore], page: Page) -> None:
    url, engine, _ = app
    open_call(page, url, "Ann Example")
    engine.fail_next = 1
    page.locator("#message textarea").fill("Let me check that for you, Maria.")
    page.locator("#send").click()
    expect(page.locator("#call-error")).to_contain_text("could not answer")
    expect(page.locator('#chat [data-testid="user"]').last).to_have_text(
        "Let me check that for you, Maria.")
    expect(page.locator("#retry")).to_be_visible()
    expect(page.locator("#take-back")).to_be_visible()
    # A reload finds the unanswered line in the store and still offers the retry.
    page.reload()
    expect(page.locator("#retry")).to_be_visible()
    page.locator("#retry").click()
    expect(page.locator('#chat [data-testid="bot"]').last).to_have_text(
        "Fine. What happens now?")
    expect(page.locator("#call-error")).to_be_hidden()
    expect(page.locator("#retry")).to_be_hidden()
    expect(page.locator("#take-back")).to_be_hidden()


def test_a_reply_waiting_for_a_model_slot_says_so_then_streams(
        app: tuple[str, FakeEngine, SqliteStore], page: Page) -> None:
    url, engine, _ = app
    open_call(page, url, "Wendy Waiting")
    # Other trainees' replies hold every slot of the model.
    held = [engine.slots.join() for _ in range(engine.slots.capacity)]
    try:
        page.locator("#message textarea").fill("Hello Maria, how can I help?")
        page.locator("#send").click()
        notice = page.locator("#call-error .rp-ok")
        # The notice comes with the engine's next Waiting event (one a second); a loaded
        # machine can take longer than the default 5 s to show it.
        expect(notice).to_contain_text("1st in line", timeout=20_000)
        expect(notice).to_contain_text("Your line is saved")
        expect(page.locator("#send")).to_be_disabled()
        expect(page.locator("#message textarea")).to_have_value("")
    finally:
        for ticket in held:
            ticket.leave()
    expect(page.locator('#chat [data-testid="bot"]').last).to_have_text(
        "Fine. What happens now?")
    expect(page.locator("#call-error")).to_be_hidden()
    expect(page.locator("#send")).to_be_enabled()


def test_an_unfinished_call_is_continued_from_the_history_and_ends_in_a_report(
        app: tuple[str, FakeEngine, SqliteStore], page: Page) -> None:
    url, _, _ = app
    open_call(page, url, "Cleo")
    page.goto(url)  # a fresh page: no session in the address
    page.get_by_label("Your name").fill("Cleo")
    page.locator("#tab-history-button").click()
    expect(page.locator("#history-table .virtual-row")).to_have_count(1)
    page.locator('#history-table [data-testid="cell-0-4"]').click()
    expect(page.locator("#history-report")).to_contain_text("not finished")
    page.locator("#history-continue").click()
    expect(page.locator("#mood-meter")).to_be_visible()
    page.locator("#message textarea").fill("I'm sorry, Maria.")
    page.locator("#send").click()
    expect(page.locator('#chat [data-testid="bot"]')).to_have_count(2)
    expect(page.locator("#send")).to_be_enabled()
    page.locator("#end-call").click()
    expect(page.locator("#report .rp-score")).to_have_text("Overall score: 50 / 100")
    page.locator("#tab-history-button").click()
    expect(page.locator("#history-table .virtual-row").first).to_contain_text("scored")


def test_a_persona_file_with_a_nul_byte_is_named_and_the_other_scenarios_stay_playable(
        app: tuple[str, FakeEngine, SqliteStore], page: Page) -> None:
    url, _, store = app
    page.goto(url)
    problems = page.locator("#picker-problems")
    expect(problems).to_contain_text("broken.yaml")
    expect(problems).to_contain_text("NUL")
    # The file's name, not where the server keeps it, and no Python error.
    assert str(store.path.parent) not in problems.inner_text()
    assert "Traceback" not in page.content() and "ReaderError" not in page.content()
    expect(page.locator("#start-late-parcel")).to_be_visible()
    open_call(page, url, "Dora", "lost-parcel")
    expect(page.locator("#call-title")).to_contain_text("The parcel is lost")
    page.locator("#message textarea").fill("I'm so sorry, Maria. Let me find it for you.")
    page.locator("#send").click()
    expect(page.locator('#chat [data-testid="bot"]').last).to_have_text(
        "Fine. What happens now?")
    expect(page.locator("#call-error")).to_be_hidden()
