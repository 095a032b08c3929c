"""A failing judge backend during scoring (issue 10.3-10.4): one request, then no more; the
principles that needed the model are unscored with the reason; nothing of the server's error
body (which may echo the API key and the prompt) is stored, shown or logged."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from _judge_fakes import completion, logprob_answer
from pydantic import SecretStr
from test_backend_errors import Backend as Server  # counts requests; its handler can be swapped

from roleplay.backends import describe_error, make_chat_model
from roleplay.config import Settings
from roleplay.errors import BackendError
from roleplay.evaluator import evaluate
from roleplay.judge import Judge
from roleplay.report import EvaluationReport, model_unreachable, render_markdown
from roleplay.rubric import Rubric
from roleplay.scoring import Scorer
from roleplay.store import SqliteStore
from roleplay.transcript import Transcript, Turn
from roleplay.web.render import report_html, write_report_files
from roleplay.web.reports import Reports

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-test-SECRET123"
LINES = ("My parcel never arrived.", "Right. What is the order number?", "It's 4471.", "OK.")
# Words of the judge's own prompts (not of the call, which the report shows on purpose).
PROMPT_TEXT = ("You label one reply from a customer-service call",
               "You coach customer-service agents")

Handler = Callable[[httpx.Request], httpx.Response]


def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)  # what a hung server ends in


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


FAILURES: dict[str, Handler] = {
    "timeout": _timeout,
    "refused": _refused,
    "500": lambda r: httpx.Response(500, json={"error": {"message": "internal error"}}),
    "junk": lambda r: httpx.Response(200, content=b"{not json",
                                     headers={"content-type": "application/json"}),
    "empty": lambda r: httpx.Response(200, content=b""),
}


def healthy(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    if body.get("logprobs"):
        return completion(logprob_answer(0.9))
    return completion(json.dumps({"rewrite": "I'm sorry it hasn't arrived. I'll trace it now."}))


def settings() -> Settings:
    return Settings(base_url="http://judge.invalid/v1", model="judge", eval_model="judge",
                    api_key=SecretStr(KEY), timeout=0.5)


def judge_on(server: Server) -> Judge:
    """A judge built like `Judge.from_settings`, on the mock wire."""
    conf = settings()
    model = make_chat_model(conf, purpose="eval",
                            http_client=httpx.Client(transport=httpx.MockTransport(server)))
    return Judge(model, conf.eval_model, REPO / "prompts",
                 on_error=lambda err: describe_error(err, conf))


def transcript() -> Transcript:
    roles = ["customer", "trainee"]
    return Transcript(turns=[Turn(role=roles[i % 2], content=t)  # type: ignore[arg-type]
                             for i, t in enumerate(LINES)])


def status(report: EvaluationReport, principle: str) -> str:
    return next(r.status for r in report.principles if r.id == principle)


def unreachable_warning(report: EvaluationReport) -> bool:
    return any("could not be reached" in w for w in report.warnings)


@pytest.mark.parametrize("failure", FAILURES)
def test_evaluate_stops_at_the_first_failure(rubric: Rubric, failure: str) -> None:
    server = Server(FAILURES[failure])
    report = evaluate(transcript(), rubric, judge_on(server))
    assert server.requests == 1  # the first failure, then no check and no rewrite
    feelings = next(r for r in report.principles if r.id == "acknowledge_feelings")
    assert feelings.status == "unscored" and feelings.score is None
    assert "could not be reached" in feelings.explanation
    assert status(report, "clear_next_step") == "unscored"
    assert unreachable_warning(report)
    assert all(a.rewrite_source == "rubric_example" for a in report.advice)


def test_healthy_backend_scores_the_same_call(rubric: Rubric) -> None:
    # The same call on a working server: the principles above are scored, no warning.
    report = evaluate(transcript(), rubric, judge_on(Server(healthy)))
    assert status(report, "acknowledge_feelings") == "met"
    assert not unreachable_warning(report)


@pytest.mark.parametrize("failure", ["timeout", "500"])
def test_end_call_on_the_scorer_sends_one_request_and_can_be_scored_again(
        rubric: Rubric, tmp_path: Path, failure: str) -> None:
    store = SqliteStore(tmp_path / "calls.db")
    session = store.create_session("fake-persona")
    for turn in transcript().turns:
        store.add_turn(session, turn)
    server = Server(FAILURES[failure])
    scorer = Scorer(rubric, judge_on(server), None, store)

    report = scorer.scores(session)
    reports = list(scorer.advice(session, report))
    assert server.requests == 1  # scores and advice together: one failed request
    final = reports[-1]
    assert status(final, "acknowledge_feelings") == "unscored"
    assert unreachable_warning(final) and final.advice_status == "ready"

    # Score again once the server is back: nothing of the failure was kept.
    server.handler = healthy
    again = scorer.scores(session)
    assert status(again, "acknowledge_feelings") == "met"
    assert not unreachable_warning(again)
    asked = server.requests
    final = list(scorer.advice(session, again))[-1]
    # The rewrites are asked anew (the fallback examples of the failed run were not kept).
    assert server.requests > asked
    assert not any("the model call failed" in w for w in final.warnings)


def echo(code: int) -> Handler:
    """A server whose error body echoes the request: its Authorization header and its body."""

    def handler(request: httpx.Request) -> httpx.Response:
        said = f"{request.headers.get('authorization')} {request.content.decode()}"
        return httpx.Response(code, json={"error": {"message": said, "type": "echo"}})

    return handler


def leaks(text: str) -> list[str]:
    return [s for s in (KEY, *PROMPT_TEXT) if s in text]


@pytest.mark.parametrize("code", [400, 422, 500, 503])
def test_an_echoed_error_body_is_never_stored_shown_or_logged(
        rubric: Rubric, tmp_path: Path, caplog: pytest.LogCaptureFixture, code: int) -> None:
    caplog.set_level(logging.DEBUG)
    server = Server(echo(code))
    store = SqliteStore(tmp_path / "calls.db")
    session = store.create_session("fake-persona")
    for turn in transcript().turns:
        store.add_turn(session, turn)
    report = evaluate(store.load(session), rubric, judge_on(server))
    assert server.requests >= 1
    assert f"HTTP {code}" in " ".join(r.raw_output or "" for r in report.principles)
    store.save_report(session, report)

    stored = store.load_report(session)
    assert stored is not None
    markdown = render_markdown(stored)
    md, js = write_report_files(stored, markdown, session, tmp_path / "downloads")
    seen = {
        "database file": (tmp_path / "calls.db").read_bytes().decode("utf-8", "replace"),
        "stored report": stored.model_dump_json(),
        "markdown": markdown,
        "html": report_html(stored, store.load(session)),
        "download md": md.read_text(encoding="utf-8"),
        "download json": js.read_text(encoding="utf-8"),
        "logs": caplog.text + " ".join(str(r.args) for r in caplog.records),
    }
    assert {where: leaks(text) for where, text in seen.items() if leaks(text)} == {}


def test_a_refused_key_stops_with_our_message_not_the_body(
        rubric: Rubric, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(BackendError) as raised:
        evaluate(transcript(), rubric, judge_on(Server(echo(401))))
    assert "refused the API key" in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert leaks(str(raised.value) + caplog.text) == []


def test_end_call_waiting_on_a_hung_preparation_sends_no_second_request(
        rubric: Rubric, tmp_path: Path) -> None:
    entered, release = threading.Event(), threading.Event()

    def hung(request: httpx.Request) -> httpx.Response:
        entered.set()
        release.wait(10)  # the server hangs until the test lets the client time out
        raise httpx.ReadTimeout("timed out", request=request)

    store = SqliteStore(tmp_path / "calls.db")
    session = store.create_session("fake-persona")
    for turn in transcript().turns:
        store.add_turn(session, turn)
    server = Server(hung)
    scorer = Scorer(rubric, judge_on(server), None, store)
    scorer.prepare(session)
    assert entered.wait(10)  # the worker's first check is on the dead server
    done: list[EvaluationReport] = []
    end_call = threading.Thread(
        target=lambda: done.append(list(scorer.advice(session, scorer.scores(session)))[-1]))
    end_call.start()  # End call while the worker's check hangs (before or after it times out)
    release.set()
    end_call.join(10)
    # The worker's failure stands for End call's own: no second request to the dead server.
    assert done and server.requests == 1
    assert status(done[0], "acknowledge_feelings") == "unscored" and unreachable_warning(done[0])
    # Score again asks anew (here: the server still hangs, so one more request).
    again = scorer.scores(session)
    assert server.requests == 2 and status(again, "acknowledge_feelings") == "unscored"


def test_the_page_offers_score_again_when_the_model_was_down(rubric: Rubric,
                                                             tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "calls.db")
    session = store.create_session("fake-persona")
    for turn in transcript().turns:
        store.add_turn(session, turn)
    server = Server(FAILURES["500"])
    scorer = Scorer(rubric, judge_on(server), None, store)
    reports = Reports(store, lambda t, p: evaluate(t, rubric), render_markdown,
                      tmp_path / "files", scorer)
    # With a scorer the persona is not used (the scorer reads the call from the store).
    views = list(reports.stream(session, store.load(session), None, "r"))  # type: ignore[arg-type]
    assert views[-1].rescore and "could not be reached" in views[-1].html
    stored = store.load_report(session)
    assert stored is not None and model_unreachable(stored)

    server.handler = healthy  # the model is back: Score again scores it, no button any more
    views = list(reports.stream(session, store.load(session), None, "r"))  # type: ignore[arg-type]
    assert not views[-1].rescore and "could not be reached" not in views[-1].html
