"""`roleplay evaluate FILE | --session ID`: malformed files exit 2 naming the problem; good
input prints the report as Markdown or as the JSON of the report model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _judge_fakes import logprob_answer, make_judge

import roleplay.judge
from roleplay.cli import main
from roleplay.config import Settings
from roleplay.report import EvaluationReport
from roleplay.store import SqliteStore
from roleplay.transcript import MAX_TURN_CHARS, Turn

GOOD_TURNS = [
    {"role": "customer", "content": "My order never arrived and I needed it for today!"},
    {"role": "trainee", "content": "I'm so sorry, that sounds really stressful. I'll send a "
                                   "replacement by courier today, it will arrive by 6 pm."},
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db_path=tmp_path / "db.sqlite3")


@pytest.fixture
def fake_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    judge, _ = make_judge(check=lambda prompt: logprob_answer(0.8))
    monkeypatch.setattr(roleplay.judge.Judge, "from_settings", classmethod(lambda cls, s, features=None: judge))


def write(tmp_path: Path, content: str | bytes, name: str = "t.json") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


MALFORMED = [
    ("not json", "this is not json", "not valid JSON"),
    ("truncated json", '{"turns": [{"role": "trainee"', "not valid JSON"),
    ("top-level list", "[1, 2]", "expected a JSON object"),
    ("no turns key", '{"messages": []}', 'missing "turns"'),
    ("turns not a list", '{"turns": "hello"}', '"turns" must be a list'),
    ("turn not an object", '{"turns": ["hello"]}', "turns[0] must be an object"),
    ("unknown role", '{"turns": [{"role": "agent", "content": "Hi"}]}',
     "turns[0].role is 'agent'; use \"customer\" or \"trainee\""),
    ("content not a string", '{"turns": [{"role": "trainee", "content": 5}]}',
     "turns[0].content must be a string"),
    ("no trainee turn", '{"turns": [{"role": "customer", "content": "Hello?"}]}',
     "no trainee turn"),
    ("only empty trainee turn", '{"turns": [{"role": "trainee", "content": "   "}]}',
     "no trainee turn"),
]


@pytest.mark.parametrize("name,content,message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_file_exits_2_naming_the_problem(tmp_path: Path, settings: Settings,
                                                    capsys: pytest.CaptureFixture[str],
                                                    name: str, content: str, message: str) -> None:
    path = write(tmp_path, content)
    assert main(["evaluate", str(path)], settings=settings) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert message in err
    assert "Traceback" not in err


def test_huge_turn_exits_2(tmp_path: Path, settings: Settings,
                           capsys: pytest.CaptureFixture[str]) -> None:
    big = "x" * (3 * 1024 * 1024)
    path = write(tmp_path, json.dumps({"turns": [{"role": "trainee", "content": big}]}))
    assert main(["evaluate", str(path)], settings=settings) == 2
    err = capsys.readouterr().err
    assert "turns[0].content is" in err and f"at most {MAX_TURN_CHARS:,}" in err


def test_missing_file_and_directory_and_binary(tmp_path: Path, settings: Settings,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tmp_path / "nope.json")], settings=settings) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)], settings=settings) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["evaluate", str(write(tmp_path, b"\xff\xfe\x00bad"))], settings=settings) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_file_and_session_together_is_an_error(tmp_path: Path, settings: Settings,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "x.json", "--session", "abc"], settings=settings) == 2
    assert main(["evaluate"], settings=settings) == 2


def test_json_output_is_the_report_model(tmp_path: Path, settings: Settings, fake_judge: None,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    extra = {"turns": [dict(t, extra="ignored") for t in GOOD_TURNS], "title": "ignored too"}
    path = write(tmp_path, json.dumps(extra))
    assert main(["evaluate", str(path), "--json"], settings=settings) == 0
    report = EvaluationReport.model_validate_json(capsys.readouterr().out)
    assert report.overall_score is not None
    assert report.judge_model == "fake-judge"


def test_markdown_is_the_default(tmp_path: Path, settings: Settings, fake_judge: None,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, json.dumps({"turns": GOOD_TURNS}))
    assert main(["evaluate", str(path)], settings=settings) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Call evaluation")
    assert main(["evaluate", str(path), "--markdown"], settings=settings) == 0
    assert capsys.readouterr().out == out


def test_session_is_evaluated_and_its_report_stored(settings: Settings, fake_judge: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    store = SqliteStore(settings.db_path)
    session = store.create_session("no-such-persona")
    for t in GOOD_TURNS:
        store.add_turn(session, Turn(role=t["role"], content=t["content"]))  # type: ignore[arg-type]
    assert main(["evaluate", "--session", session, "--json"], settings=settings) == 0
    captured = capsys.readouterr()
    report = EvaluationReport.model_validate_json(captured.out)
    assert "persona 'no-such-persona' not loaded" in captured.err
    assert store.info(session).score == report.overall_score
    assert store.load_report(session) == report


def test_unknown_session_is_an_error(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--session", "missing"], settings=settings) == 1
    assert "no session 'missing'" in capsys.readouterr().err
