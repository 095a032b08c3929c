"""One limit on a trainee line (roleplay/limits.py), kept by the CLI, the store and the files.

The web app's side (the browser and the Gradio API) is in test_web_hardening.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from _engine_fakes import ScriptedServer, scripted_model

from roleplay import cli
from roleplay.config import PROJECT_ROOT, Settings
from roleplay.conversation import ConversationEngine
from roleplay.errors import StoreError
from roleplay.limits import MAX_LINE_CHARS, line_problem
from roleplay.personas import find_persona
from roleplay.store import SqliteStore
from roleplay.terminal import run_chat

LONG = "I hear you. " * 200  # 2,400 characters
BAD_LINES = {"over-long": LONG, "NUL": "Hello\x00\x00", "surrogate": "Sorry \ud800 Dana",
             "control": "Sorry\x1b[2J Dana"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db_path=tmp_path / "cli.sqlite3")


def engine(settings: Settings, replies: list[str]) -> ConversationEngine:
    return ConversationEngine(scripted_model(ScriptedServer(list(replies))),
                              SqliteStore(settings.db_path), PROJECT_ROOT / "prompts")


@pytest.mark.parametrize("kind", sorted(BAD_LINES))
def test_every_bad_line_has_a_message_a_trainee_understands(kind: str) -> None:
    problem = line_problem(BAD_LINES[kind])
    assert problem is not None and problem.startswith("Your line")
    assert "\x00" not in problem and "\ud800" not in problem and "Error" not in problem


def test_the_longest_allowed_line_fits_the_customers_prompt(settings: Settings) -> None:
    # Finnish takes the most tokens per character of the shipped languages.
    line = ("Ymmärrän, että tämä on todella turhauttavaa. " * 50)[:MAX_LINE_CHARS]
    assert line_problem(line) is None
    eng = engine(settings, ["Selvä."])
    session = eng.start(find_persona("alv-raportti", settings.personas_dir), user="ann")
    assert eng.reply(session, line).content == "Selvä."


# A lone surrogate cannot be written to a UTF-8 file: the script is refused as not UTF-8.
@pytest.mark.parametrize("kind", sorted(set(BAD_LINES) - {"surrogate"}))
def test_a_script_with_a_bad_line_is_refused_before_the_call_starts(
        kind: str, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "script.txt"
    path.write_text("Hello Dana.\n" + BAD_LINES[kind] + "\n", encoding="utf-8")
    code = cli.main(["chat", "crm-outage", "--script", str(path)], settings=settings)
    err = capsys.readouterr().err
    assert code == 1 and f"{path}:2: Your line" in err and "Traceback" not in err
    assert SqliteStore(settings.db_path).list_sessions(include_sandbox=True) == []


def test_interactive_chat_refuses_a_bad_line_and_the_call_goes_on(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    eng = engine(settings, ["Fine, go on."])
    answers = iter([LONG, "Hello\x00", "I'm sorry, Dana.", "/end"])
    run_chat(eng, settings, "crm-outage", None, False, None, "ann",
             read=lambda prompt: next(answers))
    out = capsys.readouterr()
    assert "2,399 characters long" in out.err and "a NUL byte" in out.err
    assert "Fine, go on." in out.out
    [info] = SqliteStore(settings.db_path).list_sessions()
    stored = SqliteStore(settings.db_path).load(info.session_id)
    assert [t.content for t in stored.turns if t.role == "trainee"] == ["I'm sorry, Dana."]


def test_the_store_refuses_a_bad_line_whoever_sends_it(settings: Settings) -> None:
    eng = engine(settings, ["Fine."])
    session = eng.start(find_persona("crm-outage", settings.personas_dir), user="ann")
    for text in BAD_LINES.values():
        with pytest.raises(StoreError, match="Your line"):
            eng.reply(session, text)
    assert [t.role for t in SqliteStore(settings.db_path).load(session.session_id).turns] \
        == ["customer"]


def test_files_and_old_sessions_with_an_over_long_line_are_refused_before_any_model(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "call.json"
    path.write_text(json.dumps({"turns": [{"role": "customer", "content": "Well?"},
                                          {"role": "trainee", "content": LONG}]}),
                    encoding="utf-8")
    assert cli.main(["evaluate", str(path)], settings=settings) == 2
    assert "a trainee line may be at most 2,000" in capsys.readouterr().err
    # A session stored before the limit, written straight into the database.
    store = SqliteStore(settings.db_path)
    session_id = store.create_session("crm-outage", user="ann")
    with sqlite3.connect(settings.db_path) as db:
        db.execute("INSERT INTO turns (session_id, idx, role, content, created_at) "
                   "VALUES (?, 0, 'trainee', ?, '2026-01-01T00:00:00+00:00')",
                   (session_id, "x" * 1_000_000))
    assert cli.main(["evaluate", "--session", session_id], settings=settings) == 1
    assert "1,000,000 characters, over the limit" in capsys.readouterr().err
