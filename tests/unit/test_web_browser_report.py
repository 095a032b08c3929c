"""End call in a real browser, on the fake engine and a scorer whose advice is held back:
the scores show while the advice is still being written, then the advice streams in.

The fake scorer's `advice` blocks on an event this test sets only after it has seen the
score on the page, so the score cannot have waited for the advice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _served import Served, serve_fake
from fake_engine import FakeEngine, FakeScorer
from playwright.sync_api import Browser, Page, expect

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
REPLIES = ("Fine. What happens now?", "Right. And when exactly?", "Okay. I am listening.",
           "So it was my fault, was it?", "Soon is not a time.", "Fine. Goodbye then.")
LINES = ("Oh no, Maria, three days late with a birthday coming up, I'd be upset too.",
         "Let me pull up the tracking for that order.",
         "Well, you did pick the cheapest delivery option.",
         "I can see it left the depot on Monday.",
         "Someone will get back to you soon about it.",
         "Thanks for calling.")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_fake(tmp_path_factory.mktemp("browser-report"), scorer=FakeScorer,
                    engine=lambda store: FakeEngine(store, replies=REPLIES)) as app:
        assert isinstance(app.scorer, FakeScorer)
        app.engine.on_reply = app.scorer.prepare  # as app_from_settings wires the real Scorer
        try:
            yield app
        finally:
            app.scorer.release.set()  # never leave a worker thread waiting


@pytest.fixture
def page(served: Served, chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    yield context.new_page()
    context.close()


def call(page: Page, url: str, name: str, lines: tuple[str, ...] = LINES) -> None:
    """Open the page as `name` and hold a call of `lines`, each answered."""
    page.goto(url)
    page.get_by_label("Your name").fill(name)
    page.locator("#start-late-parcel").click()
    expect(page.locator("#mood-meter")).to_be_visible()
    for i, line in enumerate(lines):
        page.locator("#message textarea").fill(line)
        page.locator("#send").click()
        expect(page.locator('#chat [data-testid="bot"]')).to_have_count(i + 2)
        expect(page.locator("#send")).to_be_enabled()


def test_end_call_shows_the_scores_at_once_then_the_advice_streams_in(
        served: Served, page: Page) -> None:
    served.scorer.release.clear()
    call(page, served.url, "Ann Example")
    [info] = served.store.list_sessions(user="Ann Example")
    assert served.scorer.prepared.count(info.session_id) == len(LINES)  # once per reply

    page.locator("#end-call").click()
    report = page.locator("#report .rp-report")
    expect(page.locator("#report .rp-score")).to_have_text("Overall score: 62 / 100")
    expect(report).to_have_attribute("data-advice", "pending")
    expect(page.locator("#report .rp-advice-pending")).to_have_count(2)
    assert not served.scorer.release.is_set()  # so the score did not wait for the advice
    saved = served.store.load_report(info.session_id)
    assert saved is not None and saved.overall_score == 62.5 and saved.advice_status == "pending"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report-scores-first.png"), full_page=True)

    served.scorer.release.set()
    expect(report).to_have_attribute("data-advice", "ready")
    changes = page.locator("#report .rp-changes")
    expect(changes).to_contain_text("You said: “Well, you did pick the cheapest delivery option.”")
    expect(changes).to_contain_text("That must be maddening. Let's get it sorted today.")
    expect(changes).to_contain_text("I'll call you back by 4 pm today with the new date.")
    expect(page.locator("#report .rp-advice-pending")).to_have_count(0)
    expect(page.locator("#report .rp-went-well")).to_contain_text("I'd be upset too")
    # The full table is folded; what did not come up is one line inside it.
    rows = page.locator("#report .rp-principle")
    expect(rows.first).to_be_hidden()
    page.locator("#report .rp-all summary").click()
    expect(rows).to_have_count(4)
    expect(page.locator("#report .rp-quiet")).to_have_text(
        "Did not come up: Set a boundary on cursing, No needless transfer, Plain language.")
    expect(page.locator('#report .rp-principle[data-principle="follow_up"]')).to_contain_text(
        "did not answer in time")
    page.screenshot(path=str(SCREENSHOTS / "report-advice-in.png"), full_page=True)
    saved = served.store.load_report(info.session_id)
    assert saved is not None and saved.advice_status == "ready" and len(saved.advice) == 2


def test_a_trainees_scores_do_not_wait_for_another_trainees_advice(
        served: Served, chromium: Browser) -> None:
    served.scorer.release.clear()
    pages = []
    for name in ("Bea", "Carl"):
        context = chromium.new_context()
        pages.append(context.new_page())
        call(pages[-1], served.url, name, LINES[:5])
    bea, carl = pages
    bea.locator("#end-call").click()
    expect(bea.locator("#report .rp-report")).to_have_attribute("data-advice", "pending")
    # Bea's End call is still open, waiting for its advice; Carl's scores come all the same.
    carl.locator("#end-call").click()
    expect(carl.locator("#report .rp-score")).to_have_text("Overall score: 62 / 100")
    expect(carl.locator("#report .rp-report")).to_have_attribute("data-advice", "pending")
    assert not served.scorer.release.is_set()
    served.scorer.release.set()
    for page in pages:
        expect(page.locator("#report .rp-report")).to_have_attribute("data-advice", "ready")
        page.context.close()
