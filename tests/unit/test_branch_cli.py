"""`roleplay chat --resume ID --from-turn N`, `sessions show ID --branches` and `roleplay
replay ID --advice K` on a scripted model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _engine_fakes import ScriptedServer, scripted_model

from roleplay import cli
from roleplay.config import PROJECT_ROOT, Settings
from roleplay.conversation import ConversationEngine
from roleplay.errors import RoleplayError
from roleplay.personas import scan_personas
from roleplay.report import Advice, EvaluationReport
from roleplay.store import SqliteStore
from roleplay.terminal import run_chat
from roleplay.terminal_branches import run_replay

GOOD = "I'm so sorry, I'm escalating this to the engineers right now and I'll call you at 11:30."
BAD = "Calm down, I'll transfer you to IT."
NEUTRAL = "Can you tell me your customer number?"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db_path=tmp_path / "cli.sqlite3")


def engine(settings: Settings, n: int = 6) -> ConversationEngine:
    replies: list[object] = [f"Reply {i}." for i in range(n)]
    return ConversationEngine(scripted_model(ScriptedServer(replies)),  # type: ignore[arg-type]
                              SqliteStore(settings.db_path), PROJECT_ROOT / "prompts")


def script(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "script.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def a_call(settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    run_chat(engine(settings), settings, "crm-outage", script(tmp_path, NEUTRAL, BAD), True,
             None, None)
    return str(json.loads(capsys.readouterr().out)["session_id"])


def test_from_turn_takes_a_line_again_in_a_branch_and_branches_lists_both(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sid = a_call(settings, tmp_path, capsys)
    run_chat(engine(settings), settings, "crm-outage", script(tmp_path, GOOD), True, sid,
             None, from_turn=2)
    doc = json.loads(capsys.readouterr().out)
    assert [t["content"] for t in doc["turns"] if t["role"] == "trainee"] == [NEUTRAL, GOOD]
    assert cli.main(["sessions", "show", sid, "--branches", "--json"], settings) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(b["branch"], b["origin"], b["from_turn"], b["current"]) for b in listed] == [
        (0, "call", None, False), (1, "rewind", 3, True)]
    assert listed[0]["mood_path"][-1] == "cursing" and listed[1]["mood_path"][-1] != "cursing"
    assert cli.main(["sessions", "show", sid, "--branches"], settings) == 0
    text = capsys.readouterr().out
    assert "branch 1: rewind of branch 0 from turn 3" in text and "(being played)" in text
    # The call as first played is still there, and can be continued.
    run_chat(engine(settings), settings, "crm-outage", script(tmp_path, GOOD), True, sid,
             None, branch=0)
    doc = json.loads(capsys.readouterr().out)
    assert [t["content"] for t in doc["turns"] if t["role"] == "trainee"] == [NEUTRAL, BAD, GOOD]


def test_from_turn_names_the_lines_there_are(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sid = a_call(settings, tmp_path, capsys)
    with pytest.raises(RoleplayError, match="no line 5 of yours"):
        run_chat(engine(settings), settings, "crm-outage", None, True, sid, None, from_turn=5)
    with pytest.raises(RoleplayError, match="--resume"):
        run_chat(engine(settings), settings, "crm-outage", None, True, None, None, from_turn=1)
    with pytest.raises(RoleplayError, match="no branch 4"):
        run_chat(engine(settings), settings, "crm-outage", None, True, sid, None, branch=4)


def test_replay_prints_both_mood_paths_and_the_replies(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sid = a_call(settings, tmp_path, capsys)
    store = SqliteStore(settings.db_path)
    store.save_report(sid, EvaluationReport(overall_score=20.0, advice=[
        Advice(turn=3, original=BAD, rewrite=GOOD, principle="no_blame", why="w")]))
    personas, _ = scan_personas([settings.personas_dir])
    assert run_replay(engine(settings), store, sid, 1, personas, False) == 0
    out = capsys.readouterr().out
    assert "your line:   escalated-angry → cursing" in out
    assert "the rewrite: escalated-angry → " in out and "Customer: Reply 0." in out
    assert "calmer than after your line" in out and f"--resume {sid} --branch 1" in out
    with pytest.raises(RoleplayError, match="has 1 advice item"):
        run_replay(engine(settings), store, sid, 2, personas, True)
    assert cli.main(["replay", "nosuch", "--advice", "1"], settings) == 1
    assert "no session 'nosuch'" in capsys.readouterr().err
