"""Issue 12 in a real browser (fake engine, login on): a trainer's dashboard, a review the
trainee then reads, what a trainee may not open, and an assessment call."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from _served import Served, scenario, serve_fake
from gradio_client import Client
from gradio_client.exceptions import AppError
from playwright.sync_api import Browser, BrowserContext, Page, expect

from roleplay.coaching.xapi import statements
from roleplay.users import User, Users, hash_password
from roleplay.web.actions import Identity

DATA = Path(__file__).parent / "data"
PASSWORD = "right-password"
ANN, BOB, CY = (Identity(n, "trainee") for n in ("ann", "bob", "cy"))
TESS = Identity("tess", "trainer")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    hashed = hash_password(PASSWORD)
    users = Users([User(name=n, password=hashed, role="trainer" if n == "tess" else "trainee")
                   for n in ("ann", "bob", "cy", "tess")])
    # The second scenario is the assessed one.
    with serve_fake(tmp_path_factory.mktemp("coaching"),
                    {s: scenario(s) for s in ("late-parcel", "lost-parcel")},
                    users=users) as app:
        yield app


def call(served: Served, who: Identity, lines: list[str], persona: str = "late-parcel") -> str:
    """One ended, scored call of `who` through the page's own actions."""
    app = served.demo.webapp
    session = app.start(persona, who)
    for line in lines:
        list(app.say(session, line, who))
    app.end(session, who)
    return session.session_id


def logged_in(chromium: Browser, served: Served, name: str) -> tuple[BrowserContext, Page]:
    context = chromium.new_context()
    assert context.request.post(served.url + "login", form={
        "username": name, "password": PASSWORD}).ok
    page = context.new_page()
    return context, page


def pick(page: Page, dropdown: str, option: str) -> None:
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_trainer_reviews_a_call_from_the_heatmap_and_the_trainee_reads_the_note(
        served: Served, chromium: Browser) -> None:
    ann_call = call(served, ANN, ["I'm sorry, Maria."])
    call(served, BOB, ["Let me check.", "It is on its way."])
    context, page = logged_in(chromium, served, "tess")
    try:
        page.goto(served.url)
        page.locator("#tab-team-button").click()
        trainees = page.locator("#dash-trainees")
        expect(trainees).to_contain_text("ann")
        expect(trainees).to_contain_text("bob")
        # fake_evaluate: one principle, partly met, in every call: each cell is 100% (1/1).
        expect(page.locator("#dash-heatmap")).to_contain_text("100% (1/1)")
        page.locator('#dash-heatmap [data-testid="cell-0-1"]').click()
        expect(page.locator("#dash-cell-calls")).to_contain_text("ann")
        expect(page.locator("#dash-cell-calls")).not_to_contain_text("bob")
        page.locator('#dash-cell-calls [data-testid="cell-0-0"]').click()
        expect(page.locator("#review-head")).to_contain_text("Call of ann")
        expect(page.locator("#review-mood img")).to_be_visible()  # the mood path
        pick(page, "#review-status", "violated")
        page.locator("#review-save").click()  # no comment yet: refused
        expect(page.locator("#review-msg")).to_contain_text("say why")
        page.locator("#review-comment textarea").fill("No feeling was named at all.")
        page.locator("#review-save").click()
        expect(page.locator("#review-msg")).to_contain_text("partly → violated")
        expect(page.locator("#review-history")).to_contain_text("No feeling was named")
        page.locator("#review-turn input").fill("2")
        page.locator("#review-turn-text textarea").fill("Name her frustration here.")
        page.locator("#review-comment-add").click()
        expect(page.locator("#review-history")).to_contain_text("comment on turn 2")
    finally:
        context.close()
    [change] = served.demo.webapp.coaching.review(ann_call).changes
    assert (change.by, change.from_status, change.to_status) == ("tess", "partly", "violated")

    context, page = logged_in(chromium, served, "ann")
    try:
        page.goto(served.url)
        page.locator("#tab-history-button").click()
        page.locator('#history-table [data-testid="cell-0-4"]').click()
        notes = page.locator("#history-report #coach-notes")
        expect(notes).to_contain_text("Your coach's notes")
        expect(notes.locator(".rp-machine")).to_have_text("partly")
        expect(notes.locator(".rp-coach-status")).to_have_text("violated")
        expect(notes).to_contain_text("Name her frustration here.")
        # The machine's own report is still there below the notes.
        expect(page.locator("#history-report")).to_contain_text("Some acknowledgement.")
        # Her result per principle over time, drawn from the coach's statuses.
        expect(page.locator("#principle-plot img")).to_be_visible()
    finally:
        context.close()


def test_a_trainee_cannot_open_the_dashboard_a_review_or_anothers_call(
        served: Served, chromium: Browser) -> None:
    bob_call = call(served, BOB, ["Let me check that."])
    context, page = logged_in(chromium, served, "ann")
    try:
        page.goto(served.url)
        expect(page.locator("#whoami")).to_contain_text("ann")
        expect(page.locator("#tab-team-button")).to_have_count(0)
        page.goto(served.url + f"?session={bob_call}")
        expect(page.locator("#picker-message")).to_contain_text("belongs to someone else")
        expect(page.locator("#report")).to_be_hidden()
    finally:
        context.close()
    ann = Client(served.url, auth=("ann", PASSWORD), verbose=False)
    for api, args in (("/dashboard", ("", "", "", "")), ("/review_call", (bob_call,)),
                      ("/override_principle", (None, "violated", "Sneaky.")),
                      ("/comment_turn", (1, "Sneaky.")),
                      ("/release_result", ()), ("/assign", ([], [], "", "", False, False))):
        with pytest.raises(AppError, match="only trainers"):
            ann.predict(*args, api_name=api)
    assert not served.demo.webapp.coaching.review(bob_call).reviewed
    # The trainer's own API calls work: the refusal is the role, not the endpoint.
    tess = Client(served.url, auth=("tess", PASSWORD), verbose=False)
    assert "Call of <b>bob</b>" in str(tess.predict(bob_call, api_name="/review_call"))


def test_an_assessment_hides_the_reasons_withholds_the_report_and_exports_pass_fail(
        served: Served, chromium: Browser) -> None:
    app = served.demo.webapp
    assignment = app.assign(["lost-parcel"], ["cy"], "", "60", True, False, TESS)
    context, page = logged_in(chromium, served, "cy")
    try:
        page.goto(served.url)
        expect(page.locator("#picker-assignments")).to_contain_text("assessment")
        page.locator("#start-lost-parcel").click()
        expect(page.locator("#mood-meter")).to_be_visible()
        page.locator("#message textarea").fill("I'm so sorry, Maria, that must be upsetting.")
        page.locator("#send").click()
        expect(page.locator('#chat [data-testid="bot"]')).to_have_count(2)
        expect(page.locator("#send")).to_be_enabled()
        expect(page.locator(".rp-mood-reason")).to_have_text(
            "Last change: not shown during an assessment")
        [info] = served.store.list_sessions(user="cy")
        assert app.is_assessment(info.session_id)
        turns = served.store.load(info.session_id).turns
        reason = next(t.reason for t in turns if t.role == "trainee")
        assert reason and reason not in page.content()
        page.locator("#end-call").click()
        expect(page.locator("#report")).to_contain_text("Your trainer releases the result")
        expect(page.locator("#report")).not_to_contain_text("Overall score")
        # The history keeps the score hidden too, until the trainer releases it.
        page.locator("#tab-history-button").click()
        expect(page.locator("#history-table")).not_to_contain_text("50")
        app.release(info.session_id, TESS)
        page.reload()
        page.locator("#tab-history-button").click()
        page.locator('#history-table [data-testid="cell-0-4"]').click()
        # fake_evaluate: 40 + 10 per trainee line = 50, under the pass mark of 60.
        result = page.locator("#history-report #assessment-result")
        expect(result).to_contain_text("Fail")
        expect(result).to_contain_text("50 / 100")
        # One attempt: the assessment is no longer open on the picker.
        page.goto(served.url)
        expect(page.locator("#start-lost-parcel")).to_be_visible()
        expect(page.locator("#picker-assignments")).to_have_count(0)
    finally:
        context.close()
    [result] = [r for r in app.results(TESS) if r.assignment_id == assignment.id]
    assert (result.trainee, result.score, result.passed) == ("cy", 50.0, False)
    schema = json.loads((DATA / "xapi_statement.schema.json").read_text(encoding="utf-8"))
    [statement] = statements([result], served.url)
    jsonschema.validate(statement, schema, format_checker=jsonschema.FormatChecker())
    assert statement["verb"]["id"].endswith("/failed")  # type: ignore[index]
    assert statement["result"] == {"score": {"scaled": 0.5, "raw": 50.0, "min": 0, "max": 100},
                                   "completion": True, "success": False}
    assert re.fullmatch(r"[0-9a-f-]{36}", str(statement["id"]))
