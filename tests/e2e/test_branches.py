"""Rewind, branches and Try it in a real browser on the embedded model (issue 13).

A call; rewind to the trainee's second line; a different line; the branch's mood path is
shown; End call scores the branch; the history shows one call with two branches; Try it on
an advice item shows both mood paths and the customer's replies to the rewrite.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from e2e_support import REPLY_MS, REPORT_MS, Server, Visit, screenshot
from playwright.sync_api import expect
from test_web import CALMING, USER, assert_offline, say, start_call

from roleplay.store import SqliteStore

pytestmark = pytest.mark.e2e
BAD = "Calm down, that's not my department. I'll transfer you to the IT team."
AGAIN = "Dana, I'm taking this on myself and I'll call you back within 30 minutes."


def test_rewind_to_turn_2_branch_scored_history_and_try_it(
        login: Callable[..., Visit], server: Server) -> None:
    visit = login("bob")
    page = visit.page
    start_call(page, "crm-outage")
    say(page, CALMING)
    say(page, BAD)
    expect(page.locator("#mood-path")).to_contain_text("→")
    page.locator(USER).nth(1).click()
    page.locator("#rewind").click()
    expect(page.locator(USER)).to_have_count(1)
    expect(page.locator("#message textarea")).to_have_value(BAD)
    say(page, AGAIN)
    path = page.locator("#mood-path")
    expect(path).to_contain_text("→")
    assert "cursing" not in path.inner_text()  # the jab that angered Dana is not in it
    screenshot(page, "10-rewound-branch")

    page.locator("#end-call").click()
    expect(page.locator("#report .rp-score")).to_be_visible(timeout=REPORT_MS)
    expect(page.locator("#report .rp-report")).not_to_have_attribute(
        "data-advice", "pending", timeout=REPORT_MS)
    store = SqliteStore(server.db_path)
    sid = next(s.session_id for s in store.list_sessions(user="bob")
               if len(store.branches(s.session_id)) == 2)
    assert store.load_report(sid, 1) is not None and store.load_report(sid, 0) is None

    expect(page.locator("#try-it")).to_be_visible(timeout=REPLY_MS)
    page.locator("#try-it").click()
    result = page.locator("#try-result")
    expect(result.locator(".rp-replay-rewrite .rp-path")).to_contain_text("→", timeout=REPORT_MS)
    expect(result.locator(".rp-replay-original .rp-path")).to_contain_text("→")
    expect(result.locator(".rp-replay-rewrite .rp-replay-reply").first).not_to_be_empty()
    screenshot(page, "11-try-it")

    page.locator("#tab-history-button").click()
    row = page.locator("#history-table .virtual-row").first
    expect(row).to_contain_text("The CRM is down")
    page.locator('#history-table [data-testid="cell-0-1"]').click()
    expect(page.locator("#history-branches")).to_contain_text("One call, 3 branches")
    expect(page.locator("#history-branches")).to_contain_text("taken again from turn 3")
    assert_offline(visit, server)
