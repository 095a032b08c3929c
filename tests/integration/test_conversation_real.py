"""The conversation engine on the real embedded model: a scripted call, and a kill -9."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from roleplay.backends import server_features
from roleplay.config import PROJECT_ROOT, Settings
from roleplay.conversation import ConversationEngine, Restart
from roleplay.mood import Rung
from roleplay.personas import find_persona
from roleplay.store import SqliteStore

pytestmark = pytest.mark.integration

# Written independently of roleplay/character.py, so a bug there cannot hide a break here.
OUT_OF_CHARACTER = re.compile(
    r"\b(?:I am|I'm) an? (?:AI|language model|assistant)|how can I (?:help|assist)|"
    r"thank you for calling|\bprompt\b|\binstructions\b|^\s*Agent:", re.IGNORECASE)

# crm-outage is difficulty 3: Dana needs two good turns before a rung comes down.
SCRIPT = [
    "I'm so sorry, Dana, I can see how urgent this is with the quarter closing today.",
    # Not "escalating this to the engineers": the appraisal model hears that as a transfer
    # (a known false positive, see evals/moves/README.md), which this test is not about.
    ("I'm really sorry, I understand every minute costs you money. I've put the on-call "
     "engineers on this as critical right now, and I'll call you back within 30 minutes."),
    "Calm down, it's probably your network. I'll transfer you to IT.",
]


def test_the_embedded_server_probes_as_llama_cpp_and_alike_when_given_by_url(
        embedded_url: str, embedded_settings: Settings) -> None:
    embedded = server_features(embedded_settings)
    # The same server given as ROLEPLAY_BASE_URL, asked afresh (no remembered probe).
    with httpx.Client(timeout=10) as client:
        by_url = server_features(Settings(base_url=embedded_url), client)
    assert embedded.prompt_cache and embedded.logit_bias_words, embedded.source
    assert embedded.names() == by_url.names()


def test_a_scripted_three_turn_call_stays_in_character_and_is_stored(
        embedded_settings: Settings, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "call.sqlite3")
    engine = ConversationEngine.from_settings(embedded_settings, store)
    persona = find_persona("crm-outage", PROJECT_ROOT / "personas")
    session = engine.start(persona, user="integration")
    restarts = 0
    for line in SCRIPT:
        for event in engine.stream(session, line):
            restarts += isinstance(event, Restart)
    turns = store.load(session.session_id).turns
    assert [t.role for t in turns] == ["customer"] + ["trainee", "customer"] * 3
    replies = [t.content for t in turns[2::2]]
    for reply in replies:
        assert reply.strip(), "empty reply"
        assert not OUT_OF_CHARACTER.search(reply), reply
        assert "\n" not in reply
    assert all(t.model == embedded_settings.model for t in turns[2::2])
    # The ladder: the first good line is heard but not yet enough (patience), the second
    # calms, the bad line angers, each with its reason stored.
    trainee = turns[1::2]
    assert trainee[0].rung_after == Rung.ESCALATED_ANGRY
    assert trainee[0].reason and trainee[0].reason.startswith("no change:")
    assert (trainee[1].rung_before, trainee[1].rung_after) == \
        (Rung.ESCALATED_ANGRY, Rung.PASSIVE_ANGRY), [t.reason for t in trainee]
    assert trainee[1].reason and trainee[1].reason.startswith("down:")
    assert trainee[2].rung_after == Rung.ESCALATED_ANGRY
    assert trainee[2].reason and trainee[2].reason.startswith("up:")
    assert turns[6].rung_after == Rung.ESCALATED_ANGRY
    print(f"\nreplies ({restarts} regenerations):", *replies, sep="\n  ")


def _read_until(proc: subprocess.Popen[bytes], done: re.Pattern[str], timeout: float) -> str:
    assert proc.stdout is not None
    text = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = os.read(proc.stdout.fileno(), 256)
        if not chunk:
            break
        text += chunk.decode("utf-8", "replace")
        if done.search(text):
            return text
    raise AssertionError(f"the chat did not get that far: {text!r}\n"
                         f"stderr: {proc.stderr.read().decode() if proc.stderr else ''}")


def test_kill_9_mid_reply_loses_no_completed_turn_and_the_session_resumes(
        embedded_url: str, tmp_path: Path) -> None:
    db = tmp_path / "kill.sqlite3"
    env = {**os.environ, "ROLEPLAY_DB": str(db), "ROLEPLAY_BASE_URL": embedded_url,
           "ROLEPLAY_MODEL": "qwen2.5-coder-1.5b-instruct", "PYTHONUNBUFFERED": "1"}
    script = tmp_path / "script.txt"
    script.write_text("\n".join(SCRIPT) + "\n", encoding="utf-8")
    roleplay = [sys.executable, "-m", "roleplay"]
    proc = subprocess.Popen([*roleplay, "chat", "crm-outage", "--script", str(script)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # One full exchange, then the second trainee line, then the first piece of the reply.
        shown = _read_until(proc, re.compile(r"You: .*\n(?:.*\n)*?Dana: .+\n(?:.*\n)*?You: .*\n"
                                             r"(?:.*\n)*?Dana: \S"), timeout=600)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    session_id = re.search(r"session (\w+)", shown)
    assert session_id is not None
    sid = session_id.group(1)
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT role, content FROM turns WHERE session_id = ? ORDER BY idx",
                           (sid,)).fetchall()
    # Every line the terminal showed as complete is stored: opening, line 1, reply 1, line 2.
    assert [r[0] for r in rows] == ["customer", "trainee", "customer", "trainee"]
    assert rows[1][1] == SCRIPT[0] and rows[3][1] == SCRIPT[1]
    assert f"Dana: {rows[2][1]}\n" in shown

    more = tmp_path / "more.txt"
    more.write_text(SCRIPT[2] + "\n", encoding="utf-8")
    done = subprocess.run([*roleplay, "chat", "crm-outage", "--resume", sid, "--script",
                           str(more), "--json"], env=env, capture_output=True, timeout=900,
                          check=False)
    assert done.returncode == 0, done.stderr.decode()
    doc = json.loads(done.stdout)
    assert doc["session_id"] == sid
    contents = [t["content"] for t in doc["turns"]]
    assert contents[:4] == [r[1] for r in rows]
    assert [t["role"] for t in doc["turns"]] == ["customer"] + ["trainee", "customer"] * 3
    assert contents[5] == SCRIPT[2] and all(c.strip() for c in contents)
