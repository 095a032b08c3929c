"""Shared test setup: keep every test offline and away from the user's real data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# The throwaway PostgreSQL server and the SQLite/PostgreSQL `store_url` (tests/postgres_server.py).
from postgres_server import postgres, store_url  # noqa: F401

# Set before anything imports gradio or huggingface_hub: both phone home by default.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = "/usr/bin/chromium"
# The flags keep Debian's chromium from reaching for the network this machine does not have.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One Debian chromium for the whole run, driven by Playwright (never `playwright install`).

    Session-wide because Playwright's sync API runs an event loop: a second
    `sync_playwright()` started while the first is open fails, and the e2e tests and the
    fake-engine browser tests run in the same pytest session.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/setup --test)")
    from playwright.sync_api import expect, sync_playwright

    # Playwright's 5 s default for an expectation failed page tests on the fake engine when
    # other jobs loaded these shared 2-core machines (load average 10+), and passed alone.
    # A longer wait costs a passing test nothing: it returns as soon as the page is right.
    expect.set_options(timeout=20_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
