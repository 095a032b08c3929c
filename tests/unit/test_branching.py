"""Rewind and Try it (roleplay.branching): a rewrite played from its turn in a branch, on the
real engine and store (a scripted model server), its mood path beside the original's."""

from __future__ import annotations

from pathlib import Path

import pytest
from _engine_fakes import scripted_engine

from roleplay.branching import (
    ReplayTally,
    replay_advice,
    rewind_position,
    trainee_number,
)
from roleplay.config import PROJECT_ROOT
from roleplay.errors import RoleplayError
from roleplay.mood import Rung
from roleplay.personas import Persona, find_persona
from roleplay.report import Advice
from roleplay.store import SqliteStore

GOOD = ("I'm really sorry, I understand every minute costs you money. I'm escalating this to "
        "the on-call engineers as critical right now and I'll call you back in 30 minutes.")
BAD = "Calm down, that's not my department. I'll transfer you to the IT team."
NEUTRAL = "Can you tell me your customer number?"
REPLIES = ["Are you kidding me?", "Unbelievable.", "What now?", "Fine, go on.", "Okay then.",
           "Right.", "And then?"]


@pytest.fixture
def persona() -> Persona:
    return find_persona("crm-outage", PROJECT_ROOT / "personas")


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "t.sqlite3")


def played(persona: Persona, store: SqliteStore, lines: list[str]) -> tuple[object, str]:
    engine, _ = scripted_engine(list(REPLIES), store, PROJECT_ROOT / "prompts")
    session = engine.start(persona, user="ann")
    for line in lines:
        engine.reply(session, line)
    return engine, session.session_id


def advice_on(store: SqliteStore, sid: str, position: int, rewrite: str) -> Advice:
    turn = store.load(sid).turns[position]
    return Advice(turn=position, original=turn.content, rewrite=rewrite, principle="p",
                  why="because")


def test_a_good_rewrite_is_played_in_a_branch_from_the_rung_the_original_met(
        persona: Persona, store: SqliteStore) -> None:
    engine, sid = played(persona, store, [NEUTRAL, BAD, NEUTRAL])
    original = store.load(sid)
    replay = replay_advice(engine, store, sid, advice_on(store, sid, 3, GOOD), persona)  # type: ignore[arg-type]
    # Both paths start where the original second line met the customer.
    assert replay.original.rungs()[0] == replay.rewrite.rungs()[0] == original.turns[3].rung_before
    assert replay.original.rungs() == [Rung.ESCALATED_ANGRY, Rung.CURSING, Rung.CURSING]
    # The jab took the customer up a rung; the rewrite kept them from going up.
    assert replay.rewrite.rungs()[1].level < Rung.CURSING.level
    assert replay.outcome == "calmer" and replay.holds and "calmer than after your line" in replay.note
    # Two customer replies: to the rewrite, and to the trainee's own next line after it.
    assert [s.line for s in replay.rewrite.steps] == [GOOD, NEUTRAL]
    assert all(s.reply for s in replay.rewrite.steps)
    # The branch stays stored; the call goes on being played where it was.
    assert store.current_branch(sid) == 0 and store.load(sid) == original
    branch = store.load(sid, replay.branch)
    assert [t.content for t in branch.turns][:3] == [t.content for t in original.turns][:3]
    assert branch.turns[3].content == GOOD and len(branch.turns) == 7


def test_a_rewrite_that_does_not_calm_the_customer_is_said_to_contradict_the_advice(
        persona: Persona, store: SqliteStore) -> None:
    engine, sid = played(persona, store, [NEUTRAL])
    same = replay_advice(engine, store, sid, advice_on(store, sid, 1, "Please hold."),
                         persona)  # type: ignore[arg-type]
    assert same.outcome == "same" and not same.holds and "claims more" in same.note
    worse = replay_advice(engine, store, sid, advice_on(store, sid, 1, BAD), persona)  # type: ignore[arg-type]
    assert worse.outcome == "angrier" and "contradicts the advice" in worse.note
    assert len(worse.rewrite.steps) == 1  # the call had no later line to follow it with
    tally = ReplayTally()
    for replay in (same, worse):
        tally.add(replay)
    assert (tally.items, tally.same, tally.angrier, tally.held, tally.share) == (2, 1, 1, 0, 0.0)
    assert [b.origin for b in store.branches(sid)] == ["call", "replay", "replay"]


def test_advice_about_another_line_or_a_customer_turn_is_refused(
        persona: Persona, store: SqliteStore) -> None:
    engine, sid = played(persona, store, [NEUTRAL])
    stale = Advice(turn=1, original="something else", rewrite=GOOD, principle="p", why="w")
    with pytest.raises(RoleplayError, match="not the line this advice is about"):
        replay_advice(engine, store, sid, stale, persona)  # type: ignore[arg-type]
    with pytest.raises(RoleplayError, match="customer's"):
        replay_advice(engine, store, sid, advice_on(store, sid, 0, GOOD), persona)  # type: ignore[arg-type]
    assert [b.branch for b in store.branches(sid)] == [0]


def test_rewind_positions_count_the_trainee_lines(persona: Persona, store: SqliteStore) -> None:
    _, sid = played(persona, store, [NEUTRAL, BAD])
    transcript = store.load(sid)
    assert trainee_number(transcript, 2) == 3
    assert rewind_position(transcript, 3).content == BAD
    with pytest.raises(RoleplayError, match="no line 3 of yours"):
        trainee_number(transcript, 3)
    with pytest.raises(RoleplayError, match="not in the call"):
        rewind_position(transcript, 9)


def test_a_patient_customer_shows_the_rewrite_one_line_later(
        persona: Persona, store: SqliteStore) -> None:
    # crm-outage needs two good turns a rung: the rewrite alone moves nothing, but with the
    # trainee's own next (good) line after it the customer steps down, and after the
    # original line followed by the same good line they do not.
    engine, sid = played(persona, store, [NEUTRAL, GOOD])
    replay = replay_advice(engine, store, sid, advice_on(store, sid, 1, GOOD), persona)  # type: ignore[arg-type]
    assert replay.original.rungs() == [Rung.ESCALATED_ANGRY] * 3
    assert replay.rewrite.rungs() == [Rung.ESCALATED_ANGRY, Rung.ESCALATED_ANGRY,
                                      Rung.PASSIVE_ANGRY]
    assert replay.outcome == "calmer" and "your next 1 line(s)" in replay.note
