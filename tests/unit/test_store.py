"""The SQLite transcript store: sessions and turns, committed one at a time, listed and resumed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from roleplay.errors import StoreError
from roleplay.mood import Rung
from roleplay.report import EvaluationReport, Evidence, PrincipleResult
from roleplay.store import SqliteStore
from roleplay.transcript import Turn


def trainee(text: str, before: Rung, after: Rung, reason: str) -> Turn:
    return Turn(role="trainee", content=text, rung_before=before, rung_after=after, reason=reason)


def test_turns_come_back_in_order_with_every_field(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    sid = store.create_session("crm-outage", user="ann", model="m")
    turns = [
        Turn(role="customer", content="It's down!", rung_after=Rung.ESCALATED_ANGRY),
        trainee("Sorry, fixing it now.", Rung.ESCALATED_ANGRY, Rung.PASSIVE_ANGRY,
                "down: apologised"),
        Turn(role="customer", content="Fine.", rung_after=Rung.PASSIVE_ANGRY, model="m"),
    ]
    for turn in turns:
        store.add_turn(sid, turn)
    loaded = store.load(sid)
    assert loaded.session_id == sid and loaded.persona_id == "crm-outage"
    assert loaded.turns == turns
    assert loaded.rung == Rung.PASSIVE_ANGRY and not loaded.awaiting_reply


def test_each_turn_is_committed_when_added(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)
    sid = store.create_session("crm-outage")
    store.add_turn(sid, trainee("Hello", Rung.CALM, Rung.CALM, "no change"))
    # Another connection (another process after a kill -9) sees it without any close().
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT content FROM turns WHERE session_id = ?",
                             (sid,)).fetchall() == [("Hello",)]
    reopened = SqliteStore(path).load(sid)
    assert reopened.awaiting_reply and reopened.turns[0].reason == "no change"


def test_list_is_newest_first_filters_by_user_and_hides_sandbox(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    a = store.create_session("p1", user="ann")
    b = store.create_session("p2", user="bob")
    store.create_session("p3", user="ann", sandbox=True)
    store.add_turn(b, Turn(role="customer", content="Hi"))
    ids = [s.session_id for s in store.list_sessions()]
    assert set(ids) == {a, b}
    assert [s.session_id for s in store.list_sessions(user="ann")] == [a]
    assert {s.session_id: s.turns for s in store.list_sessions()}[b] == 1
    assert len(store.list_sessions(include_sandbox=True)) == 3


def test_a_report_comes_back_as_the_evaluation_report_it_was(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    sid = store.create_session("p1")
    assert store.info(sid).ended_at is None and store.load_report(sid) is None
    store.end_session(sid)
    report = EvaluationReport(overall_score=62.5, principles=[PrincipleResult(
        id="empathy", title="Acknowledge", status="partly", score=50.0, explanation="Some.",
        evidence=[Evidence(turn=1, quote="sorry")])], language="fi", warnings=["w"])
    store.save_report(sid, report)
    assert store.info(sid).ended_at is not None and store.info(sid).score == 62.5
    assert store.load_report(sid) == report


def test_a_stored_report_that_no_longer_validates_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)
    sid = store.create_session("p1")
    # What an older version kept: a 0-1 score and a field the report no longer has.
    with sqlite3.connect(path) as db:
        db.execute("UPDATE sessions SET report = ? WHERE session_id = ?",
                   ('{"overall": 0.5, "principles": []}', sid))
    with pytest.raises(StoreError, match="no longer matches the report format.*overall.*"
                                         "score the call again"):
        store.load_report(sid)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE sessions SET report = ? WHERE session_id = ?", ("{not json", sid))
    with pytest.raises(StoreError, match="no longer matches"):
        store.load_report(sid)


def test_unknown_session_and_unwritable_file_are_store_errors(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    with pytest.raises(StoreError, match="sessions list"):
        store.load("nope")
    with pytest.raises(StoreError, match="no session"):
        store.add_turn("nope", Turn(role="customer", content="x"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="ROLEPLAY_DB"):
        SqliteStore(blocker / "s.sqlite3")
