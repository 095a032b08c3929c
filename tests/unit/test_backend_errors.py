"""Bad input from the backend, on the wire: unreachable, timeout, 5xx, empty or junk replies.

Each failure is a BackendError with a message that says what to do, the trainee turn stays
saved, and retry() answers it once the backend works again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from _engine_fakes import sse

from roleplay.backends import CustomerModel
from roleplay.config import PROJECT_ROOT, Settings
from roleplay.conversation import ConversationEngine, Reply, Session
from roleplay.errors import BackendError
from roleplay.personas import find_persona
from roleplay.store import SqliteStore

Handler = Callable[[httpx.Request], httpx.Response]
LINE = "I'm sorry, I'm escalating this to the engineers right now."


class Backend:
    """A fake server whose behaviour the test switches; counts the requests it got."""

    def __init__(self, handler: Handler):
        self.handler = handler
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return self.handler(request)


def engine_on(backend: Backend, tmp_path: Path, timeout: float = 5.0) -> ConversationEngine:
    settings = Settings(base_url="http://127.0.0.1:9/v1", model="m", timeout=timeout,
                        db_path=tmp_path / "t.sqlite3")
    client = httpx.Client(transport=httpx.MockTransport(backend))
    return ConversationEngine(CustomerModel(settings, http_client=client),
                              SqliteStore(settings.db_path), PROJECT_ROOT / "prompts")


def started(engine: ConversationEngine) -> Session:
    session = engine.start(find_persona("crm-outage", PROJECT_ROOT / "personas"))
    engine._wait_warm(session)
    return session


def fail_then_answer(failure: Handler) -> Backend:
    """Fails every request until `.fixed` is set; then answers with a good reply."""
    state = {"fixed": False}

    def handler(request: httpx.Request) -> httpx.Response:
        if state["fixed"]:
            return sse(" Fine,", " call me", " in thirty", " minutes.")
        return failure(request)

    backend = Backend(handler)
    backend.state = state  # type: ignore[attr-defined]
    return backend


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def hang(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def server_error(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"error": {"message": "loading model"}})


def empty(request: httpx.Request) -> httpx.Response:
    return sse("")


def junk(request: httpx.Request) -> httpx.Response:
    return sse(" ```python\n", "def f():")


class _CutStream(httpx.SyncByteStream):
    """An SSE body that sends one piece, then the connection closes mid-reply."""

    def __iter__(self) -> Iterator[bytes]:
        yield sse(" Look,").content.split(b"data: [DONE]")[0]
        raise httpx.RemoteProtocolError("peer closed connection without sending complete "
                                        "message body (incomplete chunked read)")


def cut(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, stream=_CutStream(), headers={"content-type": "text/event-stream"})


def not_a_model(request: httpx.Request) -> httpx.Response:
    # Some other JSON service at ROLEPLAY_BASE_URL; its body must never reach the message.
    return httpx.Response(200, json={"status": "ok", "token": "sk-echoed-secret"})


@pytest.mark.parametrize("failure, message", [
    (refuse, "cannot reach http://127.0.0.1:9/v1; check that it is running"),
    (hang, "did not answer within 5 s; try again, or raise ROLEPLAY_TIMEOUT"),
    (server_error, "answered HTTP 503; try again in a moment"),
    (empty, "could not stay in character (junk: the reply is empty); retry"),
    (junk, "could not stay in character (junk: looks like code"),
    (cut, ("http://127.0.0.1:9/v1 stopped in the middle of the reply (the connection closed "
           "before the reply was finished); press Retry")),
    (not_a_model, ("http://127.0.0.1:9/v1 answered with something that is not a model reply "
                   "(HTTP 200, content type application/json); check that ROLEPLAY_BASE_URL")),
])
def test_failure_keeps_the_turn_says_what_to_do_and_retry_works(
        failure: Handler, message: str, tmp_path: Path) -> None:
    backend = fail_then_answer(failure)
    engine = engine_on(backend, tmp_path)
    session = started(engine)
    with pytest.raises(BackendError) as caught:
        list(engine.stream(session, LINE))
    assert message in str(caught.value)
    assert caught.value.retryable
    stored = engine.store.load(session.session_id)
    assert stored.awaiting_reply and stored.turns[-1].content == LINE

    backend.state["fixed"] = True  # type: ignore[attr-defined]
    events = list(engine.retry(session))
    assert isinstance(events[-1], Reply)
    assert events[-1].turn.content == "Fine, call me in thirty minutes."
    assert [t.role for t in engine.store.load(session.session_id).turns] == \
        ["customer", "trainee", "customer"]


def test_the_request_is_a_transcript_completion_with_the_speaker_stops(tmp_path: Path) -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return sse(" Okay.")

    engine = engine_on(Backend(handler), tmp_path)
    session = started(engine)
    engine.reply(session, LINE)
    warm, reply = seen
    assert warm["max_tokens"] == 1
    assert str(reply["prompt"]).startswith(str(warm["prompt"]))
    assert str(reply["prompt"]).endswith("\nDana:")
    assert "\nAgent:" in reply["stop"] and "\nDana:" in reply["stop"]  # type: ignore[operator]
    assert reply["stream"] is True


def test_a_refused_key_is_not_retryable(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": "bad key"}})

    engine = engine_on(Backend(handler), tmp_path)
    session = started(engine)
    with pytest.raises(BackendError, match="ROLEPLAY_API_KEY") as caught:
        list(engine.stream(session, LINE))
    assert not caught.value.retryable
    assert engine.store.load(session.session_id).awaiting_reply


@pytest.mark.parametrize("failure", [cut, not_a_model])
def test_a_cut_or_foreign_answer_is_not_called_unreachable_nor_named_in_python(
        failure: Handler, tmp_path: Path) -> None:
    engine = engine_on(Backend(failure), tmp_path)
    session = started(engine)
    with pytest.raises(BackendError) as caught:
        list(engine.stream(session, LINE))
    said = str(caught.value)
    for wrong in ("cannot reach", "check that it is running", "Error", "No generation chunks",
                  "sk-echoed-secret", "Look,"):
        assert wrong not in said
