"""The report reads top-down, on the page and in the Markdown: the score, what went well,
the things to change with quote and rewrite, then every principle that came up (folded) and
the ones that did not in one line."""

from __future__ import annotations

import re

from roleplay.report import (
    Advice,
    EvaluationReport,
    Evidence,
    PrincipleResult,
    render_markdown,
)
from roleplay.transcript import Transcript, Turn
from roleplay.web import render

CALL = Transcript(session_id="s1", turns=[
    Turn(role="customer", content="My parcel is three days late!"),
    Turn(role="trainee", content="I'm so sorry, that sounds really stressful."),
    Turn(role="customer", content="It is. I need it for Friday."),
    Turn(role="trainee", content="Well, you should have ordered earlier."),
    Turn(role="customer", content="Excuse me?"),
    Turn(role="trainee", content="Someone will get back to you soon."),
])


def principle(pid: str, status: str, turn: int | None = None, quote: str = "",
              explanation: str = "Because.") -> PrincipleResult:
    score = {"met": 100.0, "partly": 50.0, "violated": 0.0}.get(status)
    evidence = [Evidence(turn=turn, quote=quote)] if turn is not None else []
    return PrincipleResult(id=pid, title=pid.replace("_", " ").title(), status=status,  # type: ignore[arg-type]
                           score=score, evidence=evidence, explanation=explanation)


def report(advice_status: str = "ready", advice: bool = True) -> EvaluationReport:
    items = [Advice(turn=3, original="Well, you should have ordered earlier.",
                    rewrite="Let's get it to you by Friday.", principle="no_blame",
                    why="Fix the problem, not the customer.")] if advice else []
    return EvaluationReport(
        overall_score=46.0,
        principles=[
            principle("acknowledge_feelings", "met", 1, "that sounds really stressful"),
            principle("no_blame", "violated", 3, "you should have ordered earlier"),
            principle("time_expectations", "partly", 5, "get back to you soon"),
            principle("cursing_boundary", "not_applicable"),
            principle("plain_language", "met", explanation="No sign of a problem."),
            principle("follow_up", "unscored", explanation="The judge model did not answer."),
        ],
        advice=items, judge_model="fake", advice_status=advice_status,  # type: ignore[arg-type]
    )


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_the_page_reads_score_then_what_went_well_then_changes_then_the_folded_table() -> None:
    html = render.report_html(report(), CALL)
    marks = ["Overall score: 46 / 100", "What went well", "Do this instead",
             '<details class="rp-all"', "Did not come up", "Transcript"]
    positions = [html.index(m) for m in marks]
    assert positions == sorted(positions)
    went_well = html[html.index("What went well"):html.index("Do this instead")]
    assert "Acknowledge Feelings" in went_well and "that sounds really stressful" in went_well
    changes = html[html.index("Do this instead"):html.index('<details class="rp-all"')]
    # The violation with its quote and rewrite first, then the partly met one (no rewrite).
    assert changes.index("No Blame") < changes.index("Time Expectations")
    assert "Let&#x27;s get it to you by Friday." in changes or "Let's get it" in changes
    assert "You said: “Well, you should have ordered earlier.”" in changes
    assert "get back to you soon" in changes


def test_principles_that_did_not_come_up_are_one_line_not_rows() -> None:
    html = render.report_html(report(), CALL)
    rows = re.findall(r'<tr class="rp-principle"[^>]*data-principle="([^"]+)"', html)
    assert rows == ["acknowledge_feelings", "no_blame", "time_expectations", "follow_up"]
    quiet = _text(html[html.index("Did not come up"):])
    assert "Cursing Boundary" in quiet and "Plain Language" in quiet
    assert "No sign of a problem" not in html


def test_an_unscored_principle_says_why() -> None:
    html = render.report_html(report(), CALL)
    assert "Could not be scored: Follow Up" in html
    row = html[html.index('data-principle="follow_up"'):]
    assert "The judge model did not answer." in row[:row.index("</tr>")]
    md = render_markdown(report())
    assert "**Could not be scored:** Follow Up" in md
    assert "The judge model did not answer." in md


def test_pending_advice_shows_its_place_and_ready_advice_does_not() -> None:
    pending = render.report_html(report("pending", advice=False), CALL)
    assert pending.count("Advice on its way") == 2  # no_blame and time_expectations
    assert 'data-advice="pending"' in pending
    ready = render.report_html(report("ready", advice=True), CALL)
    assert "Advice on its way" not in ready and 'data-advice="ready"' in ready
    assert "Advice on its way" in render_markdown(report("pending", advice=False))


def test_at_most_three_things_to_change() -> None:
    many = report(advice=False)
    many.principles += [principle(f"extra_{i}", "violated", 5, "get back to you soon")
                        for i in range(4)]
    html = render.report_html(many, CALL)
    changes = html[html.index("Do this instead"):html.index('<details class="rp-all"')]
    assert changes.count('class="rp-advice') == 3


def test_the_markdown_has_the_same_order_and_folds_the_table() -> None:
    md = render_markdown(report())
    marks = ["**Overall score:** 46 / 100", "## What went well", "## Do this instead",
             "<details>", "| Principle | Status | Score |", "**Did not come up:**",
             "</details>"]
    positions = [md.index(m) for m in marks]
    assert positions == sorted(positions)
    assert "Instead: \"Let's get it to you by Friday.\"" in md
    table = md[md.index("| Principle |"):md.index("**Did not come up:**")]
    assert "Cursing Boundary" not in table and "Plain Language" not in table
