"""The load test's own parts: simulated trainees through a served app (the fake engine), the
store check that finds lost and misplaced lines, the loopback rule; the stand-in backend;
and the model server's port check (no model is loaded for it)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _served import serve_fake

from roleplay import cli
from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.loadtest import Trainee, TurnResult, check_loopback, percentile, run_level, verify
from roleplay.standin import LINES, MODEL_ID, StandInServer
from roleplay.store import SqliteStore
from roleplay.transcript import Turn


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SqliteStore]]:
    with serve_fake(tmp_path_factory.mktemp("loadtest")) as app:
        yield app.url, app.store


def test_trainees_at_once_through_the_api_lose_and_misplace_nothing(
        served: tuple[str, SqliteStore]) -> None:
    url, store = served
    level = run_level([url], trainees=3, lines=2, store=store, persona_id="late-parcel")
    assert level.turns_sent == 6 and level.errors == 0, level.error_samples
    assert level.lost_turns == 0 and level.misplaced_turns == 0
    assert level.ttft_p50_s is not None and level.full_p95_s is not None
    assert level.ttft_p50_s <= level.full_p95_s
    # Every trainee's lines are in one session of theirs, in order.
    mine = [s for s in store.list_sessions() if s.user and s.user.startswith("lt-")]
    assert len(mine) == 3 and all(s.turns == 5 for s in mine)


def test_a_call_that_cannot_start_counts_every_line_as_an_error(
        served: tuple[str, SqliteStore]) -> None:
    url, store = served
    level = run_level([url], trainees=1, lines=2, store=store, persona_id="no-such-persona")
    assert level.errors == 2 and level.lost_turns == 0


def test_verify_finds_lost_and_misplaced_lines(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    run = "abc123"
    ann, bob = (Trainee("http://127.0.0.1:1/", f"lt-{run}-{i:03d}", "p",
                        [f"line {j} [lt-{run}-{i:03d}-{j}]" for j in range(2)]) for i in (0, 1))
    for trainee in (ann, bob):
        trainee.results = [TurnResult(trainee=trainee.name, line=line) for line in trainee.lines]
    a = store.create_session("p", user=ann.name)
    b = store.create_session("p", user=bob.name)
    store.add_turn(a, Turn(role="trainee", content=ann.lines[0]))
    store.add_turn(a, Turn(role="customer", content="ok"))
    # Bob's session holds one of his lines and one of Ann's; his second line is nowhere.
    store.add_turn(b, Turn(role="trainee", content=bob.lines[0]))
    store.add_turn(b, Turn(role="customer", content="ok"))
    store.add_turn(b, Turn(role="trainee", content=ann.lines[1]))
    lost, misplaced = verify(store, [ann, bob], run)
    assert (lost, misplaced) == (2, 1)  # ann's second (stored under bob), bob's second


def test_a_line_refused_before_it_was_saved_is_not_counted_lost(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    trainee = Trainee("http://127.0.0.1:1/", "lt-r1-000", "p", ["hello [lt-r1-000-0]"])
    trainee.results = [TurnResult(trainee=trainee.name, line=trainee.lines[0],
                                  error="the customer is still answering")]
    assert verify(store, [trainee], "r1") == (0, 0)
    trainee.results[0].error = "The customer could not answer: timed out"
    assert verify(store, [trainee], "r1") == (1, 0)


@pytest.mark.parametrize("url", ["http://10.0.0.5:7860/", "http://example.com/"])
def test_the_load_test_refuses_other_machines(url: str) -> None:
    with pytest.raises(ConfigError, match="127.0.0.1"):
        check_loopback(url)


def test_percentiles() -> None:
    assert percentile([], 50) is None and percentile([3.0], 95) == 3.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)


def test_the_stand_in_streams_a_reply_and_names_itself() -> None:
    with StandInServer(token_delay=0.0) as server:
        body = {"model": "x", "prompt": "Agent: hello\nDana:", "stream": False,
                "max_tokens": 3}
        answer = httpx.post(server.base_url + "/completions", json=body).json()
        assert answer["model"] == MODEL_ID and len(answer["choices"][0]["text"].split()) == 3
        streamed = httpx.post(server.base_url + "/chat/completions",
                              json={"messages": [], "stream": True}).text
        assert streamed.rstrip().endswith("data: [DONE]") and '"delta"' in streamed
        assert httpx.get(server.base_url + "/models").json()["data"][0]["id"] == MODEL_ID
        assert server.requests == 2


def test_the_stand_in_never_says_a_line_the_call_already_holds() -> None:
    with StandInServer(token_delay=0.0) as server:
        said = ""
        for _ in range(len(LINES) + 2):
            body = {"prompt": f"Dana: {said}\nAgent: hm\nDana:", "stream": False}
            reply = httpx.post(server.base_url + "/completions", json=body).json()
            line = reply["choices"][0]["text"].strip()
            assert line not in said
            said += " " + line


def test_model_server_says_a_taken_port_before_loading_the_model(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # A cache dir without the model: had it tried to load one, the error would say so.
        code = cli.main(["model-server", "--port", str(port)],
                        settings=Settings(cache_dir=tmp_path))
    err = capsys.readouterr().err
    assert code == 1 and f"127.0.0.1:{port}" in err and "port is taken" in err
    assert "--port" in err and "Traceback" not in err
