"""The mood ladder and the rules that move the customer along it.

Rungs, from source 003 (003_119b43093722ea27.txt): passive-angry (sarcastic), escalated-angry
(yelling, every minute costs money), cursing; `calm` is where good handling leads. This is
the only module that changes a rung. It is pure: the same turn on the same rung always gives
the same result, so tests and the eval harness can predict it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from roleplay.signals import MOVES, Signal, SignalKind, detect


class Rung(str, Enum):
    """A step of the ladder, calmest first."""

    CALM = "calm"
    PASSIVE_ANGRY = "passive-angry"
    ESCALATED_ANGRY = "escalated-angry"
    CURSING = "cursing"

    @property
    def level(self) -> int:
        return LADDER.index(self)


LADDER: list[Rung] = [Rung.CALM, Rung.PASSIVE_ANGRY, Rung.ESCALATED_ANGRY, Rung.CURSING]

T = TypeVar("T")


def by_rung(*, calm: T, passive_angry: T, escalated_angry: T, cursing: T) -> dict[Rung, T]:
    """Return a table with one value for every rung, in ladder order.

    Every rung is a required argument, so a table that forgets one fails where it is
    written, not with a KeyError in the middle of a call.
    """
    return {Rung.CALM: calm, Rung.PASSIVE_ANGRY: passive_angry,
            Rung.ESCALATED_ANGRY: escalated_angry, Rung.CURSING: cursing}

# Source 003: on the cursing rung only a boundary (or the offer to end the call and call
# back) reliably brings the customer back; kind words alone need to come in numbers.
_CURSING_BREAKERS = frozenset({SignalKind.BOUNDARY, SignalKind.CALLBACK_OFFER})
# What a trainee promises (a time, a check-back) and what goes back on it later in the call.
_PROMISES = frozenset({SignalKind.TIME_COMMITMENT, SignalKind.FOLLOW_UP})
_DODGES = frozenset({SignalKind.VAGUE, SignalKind.TRANSFER})

CALM_TURNS: dict[int, tuple[int, int]] = {1: (1, 2), 2: (1, 3), 3: (2, 4), 4: (3, 5), 5: (4, 6)}
"""Good turns a persona of each difficulty promises to need, from its start rung to calm
(fewest, most). `roleplay personas validate` checks the persona's patience keeps it; the
eval harness checks the scripted good trainees do."""


def default_turns_per_rung(difficulty: int) -> int:
    """Good turns per rung of a persona that does not say: 1 up to difficulty 2, else 2."""
    return 1 if difficulty <= 2 else 2


class Patience(BaseModel):
    """How hard the customer is to calm, and what they remember of the call."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    turns_per_rung: int | None = Field(default=None, ge=1, le=4)
    """Good turns the customer needs on a rung before stepping down one (a boundary on the
    cursing rung counts as all of them); unset: 1 for difficulty 1-2, 2 for 3-5."""
    broken_promise: bool = True
    """A time or a check-back promised earlier and then dodged ("someone will get back to
    you", a transfer) angers the customer, whatever `raises` says."""
    repeated_question: bool = True
    """Asking the customer again what was asked before angers them: they already answered."""

    def need(self, difficulty: int) -> int:
        """Good turns per rung for a persona of `difficulty`."""
        return self.turns_per_rung or default_turns_per_rung(difficulty)


def turns_to_calm(start: Rung, need: int) -> int:
    """Good turns from `start` to calm when every turn is good (a boundary while cursing)."""
    if start == Rung.CURSING:
        return 1 + (start.level - 1) * need
    return start.level * need


class Heard(BaseModel):
    """An earlier trainee turn of the call, as the ladder remembers it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    signals: list[Signal]
    before: Rung
    after: Rung


class MoodChange(BaseModel):
    """The result of one trainee turn: the rung before and after, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    before: Rung
    after: Rung
    reason: str
    """Shown to the trainee, e.g. "down: acknowledged the urgency, gave a time"."""
    signals: list[Signal]
    """Every signal detected in the turn, the ones that moved the rung and the rest."""

    @property
    def direction(self) -> int:
        """-1 calmer, 0 unchanged, +1 angrier."""
        return (self.after.level > self.before.level) - (self.after.level < self.before.level)


def _describe(kinds: Iterable[SignalKind], signals: list[Signal]) -> str:
    # What the customer heard in each move, in the vocabulary's words (`roleplay.moves`).
    parts = []
    for kind in kinds:
        move = MOVES[kind]
        text = move.heard
        if move.quoted:
            quote = next(s.quote for s in signals if s.kind == kind)
            text += f' ("{quote}")'
        parts.append(text)
    return ", ".join(parts)


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _memory(signals: list[Signal], earlier: Sequence[Heard], patience: Patience,
            calming: list[SignalKind]) -> tuple[list[str], list[SignalKind]]:
    """What this turn does against what was said before: (why it angers, calming it voids)."""
    present = {s.kind for s in signals}
    said = [s for turn in earlier for s in turn.signals]
    angers: list[str] = []
    voided: list[SignalKind] = []
    promised = [s for s in said if s.kind in _PROMISES]
    dodges = [s for s in signals if s.kind in _DODGES]
    if patience.broken_promise and promised and dodges and not present & _PROMISES:
        angers.append(f'went back on the earlier promise ("{promised[-1].quote}") '
                      f'with "{dodges[0].quote}"')
    asked = {_norm(s.quote) for s in said if s.kind == SignalKind.LISTENING}
    again = [s for s in signals if s.kind == SignalKind.LISTENING and _norm(s.quote) in asked]
    if patience.repeated_question and again:
        angers.append(f'asked again what was already asked ("{again[0].quote}")')
        voided.append(SignalKind.LISTENING)
    return angers, [k for k in calming if k in voided]


def _is_good(kinds: set[SignalKind], rung: Rung, lowers: Iterable[SignalKind],
             raises: Iterable[SignalKind]) -> bool:
    calming = [k for k in lowers if k in kinds]
    if any(k in kinds for k in raises) or not calming:
        return False
    return rung != Rung.CURSING or len(calming) >= 2 or bool(set(calming) & _CURSING_BREAKERS)


def _credit(current: Rung, earlier: Sequence[Heard], lowers: list[SignalKind],
            raises: list[SignalKind]) -> int:
    # Good turns already heard on this rung: back to the last change of rung or bad turn.
    count = 0
    for turn in reversed(earlier):
        if turn.before != current or turn.after != current:
            break
        kinds = {s.kind for s in turn.signals}
        if any(k in kinds for k in raises):
            break
        count += _is_good(kinds, current, lowers, raises)
    return count


def next_rung(
    current: Rung,
    signals: list[Signal],
    lowers: Iterable[SignalKind],
    raises: Iterable[SignalKind],
    *,
    need: int = 1,
    patience: Patience | None = None,
    earlier: Sequence[Heard] = (),
    name: str = "the customer",
) -> MoodChange:
    """Apply the ladder rules to one appraised trainee turn.

    `lowers` and `raises` come from the persona: what calms this customer and what angers
    them; `need` is how many good turns a rung takes (`Patience.need`), `earlier` the
    trainee's earlier turns of the call, which the customer remembers (promises, questions).
    Bad handling never lowers the rung.
    """
    lowers, raises = list(lowers), list(raises)
    patience = patience or Patience()
    present = {s.kind for s in signals}
    calming = [k for k in lowers if k in present]
    angering = [k for k in raises if k in present]
    remembered, voided = _memory(signals, earlier, patience, calming)
    calming = [k for k in calming if k not in voided]
    bad = [_describe(angering, signals)] if angering else []
    bad += remembered
    harm = len(angering) + len(remembered)

    def change(after: Rung, reason: str) -> MoodChange:
        return MoodChange(before=current, after=after, reason=reason, signals=signals)

    if harm:
        # A harmful move outweighs a helpful one: customers remember the jab, not the apology.
        if len(calming) - 2 * harm < 0:
            after = LADDER[min(current.level + 1, len(LADDER) - 1)]
            prefix = "up" if after != current else "no change (already at the top)"
            return change(after, f"{prefix}: {', '.join(bad)}")
        return change(current, f"no change: {_describe(calming, signals)} but {', '.join(bad)}")
    if not calming:
        return change(current, "no change: nothing in the turn addressed the customer's "
                      "feelings or problem")
    heard = _describe(calming, signals)
    if current == Rung.CURSING:
        breakers = [k for k in calming if k in _CURSING_BREAKERS]
        if breakers:
            why = breakers + [k for k in calming if k not in breakers]
            return change(Rung.ESCALATED_ANGRY, f"down: {_describe(why, signals)}")
        if len(calming) < 2:
            return change(current, f"no change: {heard}, but the cursing customer needs a "
                          "boundary or more than one calming move")
    if current == Rung.CALM:
        return change(current, f"no change (already calm): {heard}")
    credit = _credit(current, earlier, lowers, raises) + 1
    if credit < need:
        left = need - credit
        more = "one more good turn" if left == 1 else f"{left} more good turns"
        return change(current, f"no change: {heard}, but {name} needs {more} before calming "
                      "down")
    return change(LADDER[current.level - 1], f"down: {heard}")


def appraise(
    text: str,
    current: Rung,
    lowers: Iterable[SignalKind],
    raises: Iterable[SignalKind],
    language: str | None = None,
    customer_name: str | None = None,
) -> MoodChange:
    """Detect the signals of one trainee turn and return the resulting mood change."""
    signals = detect(text, language=language, customer_name=customer_name)
    return next_rung(current, signals, lowers, raises)
