"""The report reads top-down, on the page and in the Markdown: the score, what went well,
the things to change with quote and rewrite, then every principle that came up (folded) and
the ones that did not in one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fake_engine import FakeEngine, FakeScorer, fake_evaluate

from roleplay.config import Settings
from roleplay.conversation import Session
from roleplay.errors import BackendError
from roleplay.personas import Persona
from roleplay.report import (
    Advice,
    EvaluationReport,
    Evidence,
    PrincipleResult,
    render_markdown,
)
from roleplay.store import SqliteStore
from roleplay.transcript import Transcript, Turn
from roleplay.web import render
from roleplay.web.actions import Identity, WebApp

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


# --- scores at once, advice streamed in (WebApp with a scorer) ----------------------------

ANN = Identity("ann", "trainee", "ann-browser")
MINIMAL = (Path(__file__).parent / "data" / "personas" / "valid" / "minimal.yaml").read_text(
    encoding="utf-8")


@pytest.fixture
def scored_app(tmp_path: Path) -> tuple[WebApp, FakeScorer, SqliteStore]:
    personas = tmp_path / "personas"
    personas.mkdir()
    (personas / "late-parcel.yaml").write_text(MINIMAL, encoding="utf-8")
    store = SqliteStore(tmp_path / "db.sqlite3")
    engine = FakeEngine(store)
    scorer = FakeScorer(store)
    engine.on_reply = scorer.prepare

    def never(transcript: Transcript, persona: Persona) -> EvaluationReport:
        raise AssertionError("with a scorer, End call must not run the whole evaluation")

    app = WebApp(engine, store, personas, Settings(personas_dir=personas), never,
                 render_markdown, files_dir=tmp_path / "files", scorer=scorer)
    return app, scorer, store


def _called(app: WebApp, lines: int) -> Session:
    session = app.start("late-parcel", ANN)
    for i in range(lines):
        list(app.say(session, f"I'm sorry, Maria, let me look at that ({i}).", ANN))
    return session


def test_end_call_shows_the_scores_before_the_advice_and_saves_both(
        scored_app: tuple[WebApp, FakeScorer, SqliteStore]) -> None:
    app, scorer, store = scored_app
    session = _called(app, 3)
    assert scorer.prepared == [session.session_id] * 3  # once per stored reply
    views = app.end_stream(session, ANN)
    first = next(views)  # the advice is still held back: this came without it
    assert "Overall score: 62 / 100" in first.html  # 62.5: met, violated, partly, met
    assert first.html.count("Advice on its way") == 2
    saved = store.load_report(session.session_id)
    assert saved is not None and saved.advice_status == "pending" and saved.overall_score == 62.5
    scorer.release.set()
    one_more, final = list(views)
    assert one_more.html.count("Advice on its way") == 1
    assert "Advice on its way" not in final.html and "by 4 pm today" in final.html
    saved = store.load_report(session.session_id)
    assert saved is not None and saved.advice_status == "ready" and len(saved.advice) == 2
    assert final.json_file and json.loads(final.json_file.read_text())["advice_status"] == "ready"


def test_advice_that_stops_keeps_the_scores_and_offers_to_score_again(
        scored_app: tuple[WebApp, FakeScorer, SqliteStore]) -> None:
    app, scorer, store = scored_app
    session = _called(app, 2)
    scorer.fail = BackendError("the model server did not answer")
    scorer.release.set()
    *_, last = app.end_stream(session, ANN)
    assert "could not be finished" in last.html and "did not answer" in last.html
    assert last.rescore and "Overall score: 62 / 100" in last.html
    saved = store.load_report(session.session_id)
    assert saved is not None and saved.overall_score == 62.5 and saved.advice_status == "pending"
    # Reopened later, the report does not promise advice that is not coming.
    stored = app.stored_report(session.session_id, ANN, "h")
    assert stored is not None and stored.rescore
    assert "was not finished" in stored.html and "Advice on its way" not in stored.html
    scorer.fail = None
    again = app.score_stored(session.session_id, ANN, "h")
    assert "by 4 pm today" in again.html and not again.rescore


def test_the_page_runs_on_roleplay_scoring_without_a_judge(tmp_path: Path) -> None:
    # The real Scorer behind the page: with no judge its rewrites are the rubric's examples,
    # ready at End call, so the first view is the whole report.
    from roleplay.rubric import load_rubric
    from roleplay.scoring import Scorer

    personas = tmp_path / "personas"
    personas.mkdir()
    (personas / "late-parcel.yaml").write_text(MINIMAL, encoding="utf-8")
    store = SqliteStore(tmp_path / "db.sqlite3")
    engine = FakeEngine(store)
    scorer = Scorer(load_rubric(Settings().prompts_dir / "rubric.yaml"), None, engine.appraiser,
                    store, gate=engine.gate, personas={})
    engine.on_reply = scorer.prepare
    app = WebApp(engine, store, personas, Settings(personas_dir=personas), fake_evaluate,
                 render_markdown, files_dir=tmp_path / "files", scorer=scorer)
    session = app.start("late-parcel", ANN)
    for line in ("calm down, nothing I can do", "someone will get back to you soon"):
        list(app.say(session, line, ANN))
    [view] = list(app.end_stream(session, ANN))
    saved = store.load_report(session.session_id)
    assert saved is not None and saved.advice_status == "ready" and saved.advice
    assert f"Overall score: {saved.overall_score:.0f} / 100" in view.html
    assert "(rubric example)" in view.html and "Advice on its way" not in view.html
