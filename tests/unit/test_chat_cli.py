"""`roleplay chat` and `roleplay sessions` on a scripted model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _engine_fakes import DOWN, Down, ScriptedServer, scripted_model

from roleplay import cli
from roleplay.config import PROJECT_ROOT, Settings
from roleplay.conversation import ConversationEngine
from roleplay.errors import BackendError
from roleplay.store import SqliteStore
from roleplay.terminal import run_chat

GOOD = "I'm so sorry, I'm escalating this to the engineers right now and I'll call you at 11:30."
BAD = "Calm down, I'll transfer you to IT."


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db_path=tmp_path / "cli.sqlite3")


def engine(settings: Settings, replies: list[str | Down]) -> ConversationEngine:
    return ConversationEngine(scripted_model(ScriptedServer(replies)),
                              SqliteStore(settings.db_path), PROJECT_ROOT / "prompts")


def script(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "script.txt"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return path


def test_script_json_prints_every_turn_with_rung_and_reason(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    eng = engine(settings, ["Fine, eleven thirty.", "A transfer? Are you kidding me?"])
    code = run_chat(eng, settings, "crm-outage", script(tmp_path, GOOD, BAD), True, None, None)
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"session_id", "persona", "turns"} and doc["persona"] == "crm-outage"
    assert [t["role"] for t in doc["turns"]] == ["customer", "trainee", "customer", "trainee",
                                                 "customer"]
    # crm-outage (difficulty 3) needs two good turns on a rung: the first one waits.
    assert [t["rung"] for t in doc["turns"]] == ["escalated-angry", "escalated-angry",
                                                 "escalated-angry", "cursing", "cursing"]
    assert doc["turns"][1]["reason"].startswith("no change:")
    assert "Dana needs one more good turn" in doc["turns"][1]["reason"]
    assert doc["turns"][3]["reason"].startswith("up:")
    assert all(set(t) == {"role", "content", "rung", "reason"} for t in doc["turns"])
    assert SqliteStore(settings.db_path).info(doc["session_id"]).ended_at is not None


def test_a_failed_script_line_stays_saved_and_resume_continues(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    eng = engine(settings, ["Fine.", DOWN, DOWN])
    with pytest.raises(BackendError, match="--resume"):
        run_chat(eng, settings, "crm-outage", script(tmp_path, GOOD, BAD), True, None, None)
    doc = json.loads(capsys.readouterr().out)  # the call so far is still printed
    assert doc["turns"][-1]["role"] == "trainee" and doc["turns"][-1]["content"] == BAD
    eng2 = engine(settings, ["transfer me and I hang up!", "that had better be true."])
    code = run_chat(eng2, settings, "crm-outage", script(tmp_path, GOOD), True,
                    doc["session_id"], None)
    assert code == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["session_id"] == doc["session_id"]
    # BAD made Dana curse, and one good turn does not calm her from there: both lines open
    # with her oaths, in turn.
    assert [t["content"] for t in resumed["turns"]][-4:] == [
        BAD, "Bloody hell, transfer me and I hang up!", GOOD, "Damn it, that had better be true."]


def test_interactive_shows_rung_and_reason_and_offers_retry(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    eng = engine(settings, [DOWN, "Okay, eleven thirty."])
    answers = iter([GOOD, "y", "/end"])
    run_chat(eng, settings, "crm-outage", None, False, None, "ann",
             read=lambda prompt: next(answers))
    out = capsys.readouterr().out
    assert "[escalated-angry]" in out  # the opening line's rung
    # crm-outage needs two good turns on a rung: the reason says the first one waits.
    assert "[escalated-angry: no change:" in out and "one more good turn" in out
    assert "answered HTTP 503; try again in a moment" in out
    assert "Dana: Okay, eleven thirty." in out


def test_unknown_persona_lists_the_known_ids_without_a_traceback(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["chat", "crm-outag", "--script", str(script(tmp_path, GOOD))], settings=settings)
    err = capsys.readouterr().err
    assert code == 1
    assert "did you mean 'crm-outage'" in err and "sahkolasku-arvio" in err
    assert "Traceback" not in err


def test_missing_script_file_is_a_message(settings: Settings, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["chat", "crm-outage", "--script", str(tmp_path / "none.txt")], settings=settings)
    assert code == 1 and "no such script file" in capsys.readouterr().err


def test_sessions_list_and_show(settings: Settings, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    eng = engine(settings, ["Fine."])
    run_chat(eng, settings, "crm-outage", script(tmp_path, GOOD), True, None, "ann")
    sid = json.loads(capsys.readouterr().out)["session_id"]
    assert cli.main(["sessions", "list", "--json", "--user", "ann"], settings=settings) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["session_id"] for r in rows] == [sid] and rows[0]["turns"] == 3
    assert cli.main(["sessions", "list", "--json", "--user", "bob"], settings=settings) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert cli.main(["sessions", "show", sid, "--json"], settings=settings) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["turns"][1]["rung_before"] == "escalated-angry"
    assert shown["turns"][2]["model"] == "scripted"
    assert cli.main(["sessions", "show", sid], settings=settings) == 0
    assert "escalated-angry -> escalated-angry: no change:" in capsys.readouterr().out
    assert cli.main(["sessions", "show", "nope"], settings=settings) == 1
    assert "no session 'nope'" in capsys.readouterr().err
