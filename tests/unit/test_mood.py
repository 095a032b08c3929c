"""The mood ladder's patience and memory (roleplay.mood): pure rules, tested as such."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from roleplay.mood import (
    CALM_TURNS,
    LADDER,
    Heard,
    MoodChange,
    Patience,
    Rung,
    default_turns_per_rung,
    next_rung,
    turns_to_calm,
)
from roleplay.signals import Signal, SignalKind

LOWERS = [SignalKind.EMPATHY, SignalKind.APOLOGY, SignalKind.NEXT_STEP,
          SignalKind.TIME_COMMITMENT, SignalKind.FOLLOW_UP, SignalKind.LISTENING,
          SignalKind.BOUNDARY]
RAISES = [SignalKind.BLAME, SignalKind.DISMISSIVE, SignalKind.JARGON]


def sig(kind: SignalKind, quote: str = "x") -> Signal:
    return Signal(kind=kind, quote=quote, start=0, end=len(quote))


def play(start: Rung, turns: list[list[Signal]], need: int = 1,
         patience: Patience | None = None) -> list[MoodChange]:
    """Feed turns through the ladder the way the engine does, remembering each."""
    rung, earlier, out = start, [], []
    for signals in turns:
        change = next_rung(rung, signals, LOWERS, RAISES, need=need, patience=patience,
                           earlier=earlier, name="Dana")
        earlier.append(Heard(signals=signals, before=change.before, after=change.after))
        out.append(change)
        rung = change.after
    return out


kinds = st.sampled_from(list(SignalKind))
turn = st.lists(kinds.map(sig), max_size=4)
rungs = st.sampled_from(LADDER)


@settings(deadline=None)  # no timing in unit tests: the machine is shared
@given(rungs, turn, st.lists(turn, max_size=5), st.integers(1, 4), st.sampled_from(RAISES))
def test_bad_handling_never_lowers_the_rung(start: Rung, signals: list[Signal],
                                            before: list[list[Signal]], need: int,
                                            harmful: SignalKind) -> None:
    changes = play(start, [*before, [*signals, sig(harmful)]], need=need)
    assert changes[-1].after.level >= changes[-1].before.level


@settings(deadline=None)  # no timing in unit tests: the machine is shared
@given(rungs, st.lists(turn, max_size=8), st.integers(1, 4))
def test_a_turn_moves_at_most_one_rung_and_always_says_why(start: Rung,
                                                           turns: list[list[Signal]],
                                                           need: int) -> None:
    for change in play(start, turns, need=need):
        assert abs(change.after.level - change.before.level) <= 1
        assert change.reason.split(":")[0] in {"up", "down", "no change",
                                               "no change (already calm)",
                                               "no change (already at the top)"}


GOOD = [sig(SignalKind.EMPATHY), sig(SignalKind.APOLOGY)]


@settings(deadline=None)  # no timing in unit tests: the machine is shared
@given(st.integers(1, 4))
def test_a_rung_takes_as_many_good_turns_as_the_patience_says(need: int) -> None:
    changes = play(Rung.ESCALATED_ANGRY, [GOOD] * (2 * need), need=need)
    path = [c.after for c in changes]
    assert path[need - 1] == Rung.PASSIVE_ANGRY and path[2 * need - 1] == Rung.CALM
    assert all(p == Rung.ESCALATED_ANGRY for p in path[:need - 1])
    assert len(changes) == turns_to_calm(Rung.ESCALATED_ANGRY, need)


def test_a_waiting_turn_says_how_many_more_the_customer_needs() -> None:
    (first, second, third) = play(Rung.PASSIVE_ANGRY, [GOOD] * 3, need=3)
    assert first.reason == ("no change: acknowledged the feelings, apologised, but Dana needs "
                            "2 more good turns before calming down")
    assert "one more good turn" in second.reason
    assert third.after == Rung.CALM and third.reason.startswith("down:")


def test_a_bad_turn_in_between_starts_the_count_again() -> None:
    path = [c.after for c in play(Rung.PASSIVE_ANGRY, [GOOD, [sig(SignalKind.BLAME)], GOOD,
                                                       GOOD, GOOD, GOOD], need=2)]
    assert path == [Rung.PASSIVE_ANGRY, Rung.ESCALATED_ANGRY, Rung.ESCALATED_ANGRY,
                    Rung.PASSIVE_ANGRY, Rung.PASSIVE_ANGRY, Rung.CALM]


def test_a_boundary_brings_a_cursing_customer_down_at_once_whatever_the_patience() -> None:
    (change,) = play(Rung.CURSING, [[sig(SignalKind.BOUNDARY)]], need=3)
    assert change.after == Rung.ESCALATED_ANGRY


def test_a_broken_promise_sends_the_customer_back_up() -> None:
    promise = [sig(SignalKind.TIME_COMMITMENT, "within 30 minutes"), *GOOD]
    dodge = [sig(SignalKind.EMPATHY), sig(SignalKind.VAGUE, "someone will get back to you")]
    changes = play(Rung.ESCALATED_ANGRY, [promise, dodge])
    assert [c.after for c in changes] == [Rung.PASSIVE_ANGRY, Rung.ESCALATED_ANGRY]
    assert changes[1].reason == ('up: went back on the earlier promise ("within 30 minutes") '
                                 'with "someone will get back to you"')
    # A customer who does not keep count, and the same dodge without an earlier promise:
    forgiving = play(Rung.ESCALATED_ANGRY, [promise, dodge],
                     patience=Patience(broken_promise=False))
    assert forgiving[1].after == Rung.CALM
    assert play(Rung.PASSIVE_ANGRY, [dodge])[0].after == Rung.CALM


def test_asking_the_same_question_again_angers_and_no_longer_counts_as_listening() -> None:
    ask = [sig(SignalKind.LISTENING, "When did it start?")]
    changes = play(Rung.PASSIVE_ANGRY, [[sig(SignalKind.BLAME)], ask, ask])
    assert [c.after for c in changes] == [Rung.ESCALATED_ANGRY, Rung.PASSIVE_ANGRY,
                                          Rung.ESCALATED_ANGRY]
    assert "asked again what was already asked" in changes[2].reason
    calm = play(Rung.PASSIVE_ANGRY, [[sig(SignalKind.BLAME)], ask, ask],
                patience=Patience(repeated_question=False))
    assert calm[2].after == Rung.CALM


def test_harder_personas_need_more_good_turns() -> None:
    for start in LADDER[1:]:
        needed = [turns_to_calm(start, default_turns_per_rung(d)) for d in range(1, 6)]
        assert needed == sorted(needed)
    assert [CALM_TURNS[d][0] for d in range(1, 6)] == sorted(CALM_TURNS[d][0]
                                                             for d in range(1, 6))
    assert Patience().need(2) == 1 and Patience().need(3) == 2
    assert Patience(turns_per_rung=3).need(1) == 3
