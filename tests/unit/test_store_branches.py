"""Branches in the store (issue 13): turns point at their parent turn, nothing is copied.

Run on SQLite and on PostgreSQL (a server the tests start themselves: tests/postgres_server.py).
"""

from __future__ import annotations

import pytest

from roleplay.errors import StoreError
from roleplay.mood import Rung
from roleplay.report import EvaluationReport
from roleplay.store import SqlStore
from roleplay.transcript import Turn


def customer(text: str, rung: Rung = Rung.ESCALATED_ANGRY) -> Turn:
    return Turn(role="customer", content=text, rung_after=rung)


def trainee(text: str, before: Rung = Rung.ESCALATED_ANGRY,
            after: Rung = Rung.ESCALATED_ANGRY) -> Turn:
    return Turn(role="trainee", content=text, rung_before=before, rung_after=after,
                reason="no change")


def a_call(store: SqlStore) -> str:
    """Opening, then three exchanges: turns 0-6, the trainee's at 1, 3, 5."""
    sid = store.create_session("crm-outage", user="ann")
    store.add_turn(sid, customer("It's down!"))
    for n in range(1, 4):
        store.add_turn(sid, trainee(f"line {n}"))
        store.add_turn(sid, customer(f"reply {n}"))
    return sid


def contents(store: SqlStore, sid: str, branch: int | None = None) -> list[str]:
    return [t.content for t in store.load(sid, branch).turns]


def test_a_branch_shares_the_turns_before_it_and_the_original_stays(store: SqlStore) -> None:
    sid = a_call(store)
    original = contents(store, sid)
    branch = store.branch(sid, 3)  # take the trainee's second line again
    assert branch == 1 and store.current_branch(sid) == 1
    assert contents(store, sid) == original[:3]  # rung and context as they were
    assert store.load(sid).rung == Rung.ESCALATED_ANGRY
    store.add_turn(sid, trainee("a better line", after=Rung.PASSIVE_ANGRY))
    store.add_turn(sid, customer("Fine.", Rung.PASSIVE_ANGRY))
    assert contents(store, sid) == [*original[:3], "a better line", "Fine."]
    assert contents(store, sid, 0) == original
    assert store.load(sid).rung == Rung.PASSIVE_ANGRY
    # Nothing was copied: the session holds the original's turns and the two new ones.
    assert store.info(sid).turns == len(original) + 2


def test_branches_of_branches_and_switching(store: SqlStore) -> None:
    sid = a_call(store)
    store.branch(sid, 3)
    store.add_turn(sid, trainee("b1 line 2"))
    store.add_turn(sid, customer("b1 reply 2"))
    store.add_turn(sid, trainee("b1 line 3"))
    assert store.branch(sid, 5) == 2  # from branch 1's third line
    store.add_turn(sid, trainee("b2 line 3"))
    assert contents(store, sid)[-2:] == ["b1 reply 2", "b2 line 3"]
    store.use_branch(sid, 0)
    assert contents(store, sid)[-1] == "reply 3"
    store.add_turn(sid, trainee("line 4"))
    assert contents(store, sid, 0)[-1] == "line 4"
    assert contents(store, sid, 1)[-1] == "b1 line 3"
    with pytest.raises(StoreError, match="no branch 9"):
        store.use_branch(sid, 9)


def test_only_a_trainee_turn_can_be_taken_again(store: SqlStore) -> None:
    sid = a_call(store)
    for at in (0, 2, 7, -1):
        with pytest.raises(StoreError, match="trainee's turns \\(1, 3, 5\\)"):
            store.branch(sid, at)
    assert store.branches(sid)[-1].branch == 0  # nothing was started


def test_scoring_a_branch_keeps_each_branch_report(store: SqlStore) -> None:
    sid = a_call(store)
    store.save_report(sid, EvaluationReport(overall_score=40.0))
    store.branch(sid, 1)
    assert store.load_report(sid) is None  # the new branch is not scored yet
    store.add_turn(sid, trainee("better"))
    store.save_report(sid, EvaluationReport(overall_score=80.0))
    assert store.load_report(sid) == EvaluationReport(overall_score=80.0)
    report = store.load_report(sid, 0)
    assert report is not None and report.overall_score == 40.0
    store.save_report(sid, EvaluationReport(overall_score=45.0), branch=0)
    scores = {b.branch: b.score for b in store.branches(sid)}
    assert scores == {0: 45.0, 1: 80.0}


def test_history_lists_one_call_with_its_branches(store: SqlStore) -> None:
    sid = a_call(store)
    store.branch(sid, 3)
    store.add_turn(sid, trainee("again"))
    store.branch(sid, 1, origin="replay")
    sessions = store.list_sessions(user="ann")
    assert [s.session_id for s in sessions] == [sid]
    listed = store.branches(sid)
    assert [(b.branch, b.origin, b.from_turn, b.parent_branch, b.turns, b.current)
            for b in listed] == [(0, "call", None, None, 7, False),
                                 (1, "rewind", 3, 0, 4, False),
                                 (2, "replay", 1, 1, 1, True)]


def test_take_back_removes_only_an_unanswered_leaf_of_the_current_branch(store: SqlStore) -> None:
    sid = a_call(store)
    store.branch(sid, 5)
    assert store.take_back(sid) is None  # the branch has no turn of its own yet
    store.add_turn(sid, trainee("again"))
    taken = store.take_back(sid)
    assert taken is not None and taken.content == "again"
    assert contents(store, sid, 0)[-1] == "reply 3"
    store.add_turn(sid, trainee("and again"))
    assert contents(store, sid)[-1] == "and again"


def test_a_store_reopened_keeps_the_branches(store_url: str) -> None:
    first = SqlStore(store_url)
    sid = a_call(first)
    first.branch(sid, 3)
    first.add_turn(sid, trainee("kept"))
    first.close()
    again = SqlStore(store_url)
    assert again.current_branch(sid) == 1 and contents(again, sid)[-1] == "kept"


@pytest.fixture
def store(store_url: str) -> SqlStore:
    """A store on SQLite and on PostgreSQL (`store_url`: tests/postgres_server.py)."""
    return SqlStore(store_url)
